#!/usr/bin/env bash
# Installs what the lab needs from Debian's packages. Idempotent; needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for bin in lftp nft ip openssl vsftpd ss; do command -v "$bin" >/dev/null 2>&1 || need+=("$bin"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends lftp nftables iproute2 openssl vsftpd ca-certificates >/dev/null
fi
