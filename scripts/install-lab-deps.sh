#!/usr/bin/env bash
# Installs what the lab needs from Debian's packages. Idempotent; needs root.
#  - vsftpd, lftp, nftables, iproute2, openssl: installed with apt; bsdutils for `script`, the
#    pseudo-terminal the live view's test runs apply in.
#  - pure-ftpd and proftpd-core (+ proftpd-mod-crypto for mod_tls) conflict with vsftpd on the
#    virtual package ftp-server, so they are fetched with `apt-get download` and unpacked with
#    `dpkg -x` into $LAB_PKG_DIR; their shared libraries are installed with apt. Installing
#    packages starts no services on these machines; the lab runs every server itself.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
LAB_PKG_DIR=${LAB_PKG_DIR:-/opt/ftpsync-lab}

apt_packages=(lftp nftables iproute2 openssl vsftpd ca-certificates procps bsdutils
  libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libsodium23 libpam-runtime libpam-modules)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
updated=0
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq; updated=1
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$LAB_PKG_DIR/root/usr/sbin/pure-ftpd" ] || [ ! -x "$LAB_PKG_DIR/root/usr/sbin/proftpd" ] \
   || [ ! -f "$LAB_PKG_DIR/root/usr/lib/proftpd/mod_tls.so" ]; then
  [ "$updated" = 1 ] || apt-get update -qq
  mkdir -p "$LAB_PKG_DIR/debs" "$LAB_PKG_DIR/root"
  # _apt cannot write into a root-owned directory: download as root, quietly.
  (cd "$LAB_PKG_DIR/debs" && apt-get download -qq pure-ftpd proftpd-core proftpd-mod-crypto 2>&1 | grep -v 'unsandboxed' || true)
  for deb in "$LAB_PKG_DIR"/debs/*.deb; do dpkg -x "$deb" "$LAB_PKG_DIR/root"; done
fi

for bin in lftp nft ip openssl vsftpd script "$LAB_PKG_DIR/root/usr/sbin/pure-ftpd" "$LAB_PKG_DIR/root/usr/sbin/proftpd"; do
  command -v "$bin" >/dev/null 2>&1 || { echo "install-lab-deps: $bin is missing after install" >&2; exit 1; }
done
echo "install-lab-deps: lab packages ready ($LAB_PKG_DIR)"
