#!/usr/bin/env node
// @ts-check
// The lab: real FTP servers (vsftpd, pure-ftpd, proftpd) in a server network namespace, a client
// namespace joined to it by a veth pair, and a firewall simulator that counts sockets per client
// IP the way CSF/lfd does (TIME_WAIT included) and blocks with nftables.
//
//   node scripts/lab.mjs up [--rtt MS] | down | status | link --rtt MS | restart <server> [--cap N] [--idle SECONDS]
// --rtt (0, 20, 50, 100, 150; default LAB_RTT_MS or 0) puts lab/latency-router.py between the
// namespaces; 0 is a plain veth pair.
//
// Needs root (ip netns, nft, useradd). Packages: scripts/install-lab-deps.sh.
// State (addresses, ports, passwords of the throwaway lab users, pids) goes to .lab/state.json.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const LAB_DIR = join(REPO, '.lab');
export const STATE_FILE = join(LAB_DIR, 'state.json');
const PKG = process.env.LAB_PKG_DIR ? join(process.env.LAB_PKG_DIR, 'root') : '/opt/ftpsync-lab/root';
const CONF_DIR = join(REPO, 'lab', 'conf');

export const NS_SRV = 'ftpsync-srv';
export const NS_CLI = 'ftpsync-cli';
const VETH_SRV = 'fts-srv0';
const VETH_CLI = 'fts-cli0';
export const SERVER_IP = '10.203.51.1';
export const CLIENT_IP = '10.203.51.2';

/** @typedef {{ user: string, port: number, pasv: [number, number], implicitTlsPort?: number, implicitPasv?: [number, number] }} ServerSpec */
/**
 * What .lab/state.json holds (read back by lab/lab-client.ts).
 * @typedef {{ startedAt: string, serverAddress: string, clientAddress: string, nsServer: string, nsClient: string, password: string,
 *   caFile: string, fwSocket: string, users: Record<string, { uid: number, gid: number }>,
 *   servers: Record<string, { name: string, user: string, root: string } & Record<string, unknown>>,
 *   pids: Record<string, number | undefined>, caps?: Record<string, number | null>,
 *   idleTimeouts?: Record<string, number | null>, rttMs?: number }} LabState
 */

// One system user per server so each has its own FTP root (home directory).
/** @type {{ vsftpd: Required<ServerSpec> } & Record<string, ServerSpec>} */
const SERVERS = {
  vsftpd: { user: 'ftplab-vsftpd', port: 2121, implicitTlsPort: 2990, pasv: [30000, 30099], implicitPasv: [30300, 30349] },
  'pure-ftpd': { user: 'ftplab-pureftpd', port: 2122, pasv: [30100, 30199] },
  proftpd: { user: 'ftplab-proftpd', port: 2123, pasv: [30200, 30299] },
};

/** @param {string} msg */
const log = (msg) => process.stderr.write(`lab: ${msg}\n`);

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {import('node:child_process').ExecFileSyncOptions} [opts]
 * @returns {string}
 */
function run(cmd, args, opts = {}) {
  return /** @type {string} */ (execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts }));
}
/**
 * @param {string} cmd
 * @param {string[]} args
 */
function tryRun(cmd, args) {
  try {
    return run(cmd, args);
  } catch {
    return null;
  }
}
/** @param {string[]} args */
const inSrv = (args) => ['netns', 'exec', NS_SRV, ...args];

/** @returns {LabState | null} */
export function readState() {
  if (!existsSync(STATE_FILE)) return null;
  return JSON.parse(readFileSync(STATE_FILE, 'utf8'));
}

// ---------------------------------------------------------------- teardown
export function labDown({ quiet = false } = {}) {
  for (const ns of [NS_SRV, NS_CLI]) {
    const pids = (tryRun('ip', ['netns', 'pids', ns]) ?? '').split(/\s+/).filter(Boolean);
    for (const pid of pids) tryRun('kill', ['-KILL', pid]);
  }
  const state = readState();
  for (const pid of Object.values(state?.pids ?? {})) tryRun('kill', ['-KILL', String(pid)]);
  for (const ns of [NS_SRV, NS_CLI]) tryRun('ip', ['netns', 'del', ns]);
  tryRun('ip', ['link', 'del', VETH_SRV]);
  if (rootsOnTmpfs()) tryRun('umount', ['--lazy', ROOTS_DIR]);
  rmSync(join(LAB_DIR, 'fw.sock'), { force: true });
  rmSync(STATE_FILE, { force: true });
  if (!quiet) log('down');
}

// ---------------------------------------------------------------- pieces of `up`
const ROOTS_DIR = join(LAB_DIR, 'roots');

function rootsOnTmpfs() {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === ROOTS_DIR);
}

/**
 * The servers' files live on a tmpfs: on a real host the server's disk is not the client's, and
 * here the two shared one. Writing and deleting thousands of server files on this VM's ext4 made
 * the next runs slower and slower (3,000 uploads: 4.7, 6.7, 11.0, 12.5 s in a row; on tmpfs
 * 4.4-5.8 s), noise that no benchmark should carry. Without tmpfs (no mount rights) the disk is used.
 */
function mountRoots() {
  mkdirSync(ROOTS_DIR, { recursive: true });
  if (rootsOnTmpfs()) return;
  if (tryRun('mount', ['-t', 'tmpfs', '-o', 'size=4g,mode=755', 'ftpsync-lab', ROOTS_DIR]) === null) {
    log(`could not mount a tmpfs on ${ROOTS_DIR}; the servers' files go to disk (benchmarks get noisier)`);
  }
}

function makeNetwork(rttMs = 0) {
  run('ip', ['netns', 'add', NS_SRV]);
  run('ip', ['netns', 'add', NS_CLI]);
  for (const ns of [NS_SRV, NS_CLI]) run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  // The firewall simulator's blocks: one set of client IPs, dropped on input.
  const nft = `table inet ftpsync_fw {
  set blocked { type ipv4_addr; flags timeout; }
  chain input { type filter hook input priority 0; policy accept; ip saddr @blocked drop; }
}`;
  run('ip', inSrv(['nft', '-f', '-']), { input: nft, stdio: ['pipe', 'pipe', 'pipe'] });
  return makeLink(rttMs);
}

export const LAB_RTTS = [0, 20, 50, 100, 150];

/** @param {unknown} value */
export function parseRtt(value) {
  const rtt = Number(value ?? 0);
  if (!LAB_RTTS.includes(rtt)) throw new Error(`lab: round trip ${String(value)} ms is not one of ${LAB_RTTS.join(', ')}`);
  return rtt;
}

/**
 * The link between the namespaces. RTT 0: a veth pair, as the lab always had. Otherwise two TUN
 * devices with the same names and addresses, joined by lab/latency-router.py (in the server
 * namespace, so any lab's teardown kills it), which holds each packet for RTT/2 each way.
 * @param {number} rttMs
 * @returns {number | undefined} the router's pid
 */
function makeLink(rttMs) {
  /** @type {number | undefined} */
  let routerPid;
  if (rttMs === 0) {
    run('ip', ['link', 'add', VETH_SRV, 'type', 'veth', 'peer', 'name', VETH_CLI]);
    run('ip', ['link', 'set', VETH_SRV, 'netns', NS_SRV]);
    run('ip', ['link', 'set', VETH_CLI, 'netns', NS_CLI]);
  } else {
    const ready = join(LAB_DIR, 'run', 'latency-router.ready');
    rmSync(ready, { force: true });
    // Realtime too: a router woken late adds its lateness to every round trip.
    routerPid = startInSrv('latency-router', [
      ...realtimePrefix(),
      'python3',
      join(REPO, 'lab', 'latency-router.py'),
      '--rtt-ms',
      String(rttMs),
      '--dev-a',
      VETH_SRV,
      '--dev-b',
      VETH_CLI,
      '--ready',
      ready,
    ]);
    waitForSync('the latency router', () => existsSync(ready));
    run('ip', ['-n', NS_SRV, 'link', 'set', VETH_CLI, 'netns', NS_CLI]);
  }
  run('ip', ['-n', NS_SRV, 'addr', 'add', `${SERVER_IP}/24`, 'dev', VETH_SRV]);
  run('ip', ['-n', NS_CLI, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', VETH_CLI]);
  for (const [ns, dev] of [
    [NS_SRV, VETH_SRV],
    [NS_CLI, VETH_CLI],
  ]) {
    run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
  return routerPid;
}

/** Remove the link between the namespaces (veth pair or router and its TUN devices). */
/** @param {LabState | null} state */
function removeLink(state) {
  const router = state?.pids?.router;
  if (router) tryRun('kill', ['-TERM', String(router)]);
  for (const [ns, dev] of [
    [NS_SRV, VETH_SRV],
    [NS_CLI, VETH_CLI],
  ]) {
    // A TUN device goes with its router's fd; wait (bounded) so the names are free again.
    for (let i = 0; i < 50 && tryRun('ip', ['-n', ns, 'link', 'show', dev]) !== null; i++) {
      tryRun('ip', ['-n', ns, 'link', 'del', dev]);
      if (tryRun('ip', ['-n', ns, 'link', 'show', dev]) !== null) sleepSync(100);
    }
  }
}

function realtimePrefix() {
  return process.getuid?.() === 0 && tryRun('chrt', ['--rr', '20', 'true']) !== null ? ['chrt', '--rr', '20'] : [];
}

/** @param {number} ms */
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * @param {string} what
 * @param {() => boolean} check
 */
function waitForSync(what, check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    sleepSync(50);
  }
  throw new Error(`lab: ${what} did not come up within ${timeoutMs} ms (see ${join(LAB_DIR, 'logs')})`);
}

/**
 * Change the round trip of a running lab (the namespaces, servers and firewall stay; connections
 * open across the link are cut). Used by `lab.mjs link --rtt N` and lab tests at latency.
 * @param {number} rttMs
 */
export function setRtt(rttMs) {
  const state = readState();
  if (!state) throw new Error('lab: not up');
  removeLink(state);
  delete state.pids.router;
  const router = makeLink(parseRtt(rttMs));
  if (router) state.pids.router = router;
  state.rttMs = rttMs;
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2), { mode: 0o600 });
}

/** @param {string} dir */
function makeTls(dir) {
  mkdirSync(dir, { recursive: true });
  const o = (/** @type {string[]} */ args) => run('openssl', args, { cwd: dir });
  o([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=ftpsync lab CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  o(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=ftpsync-lab', '-keyout', 'server.key', '-out', 'server.csr']);
  writeFileSync(join(dir, 'server.ext'), `subjectAltName=IP:${SERVER_IP},DNS:ftpsync-lab\nextendedKeyUsage=serverAuth\n`);
  o([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    'server.crt',
    '-extfile',
    'server.ext',
  ]);
  writeFileSync(join(dir, 'server.pem'), readFileSync(join(dir, 'server.key'), 'utf8') + readFileSync(join(dir, 'server.crt'), 'utf8'));
  chmodSync(join(dir, 'server.key'), 0o600);
  chmodSync(join(dir, 'server.pem'), 0o600);
}

/**
 * @param {string} user
 * @param {string} home
 * @param {string} password
 */
function ensureUser(user, home, password) {
  if (tryRun('id', ['-u', user]) === null) run('useradd', ['-M', '-d', home, '-s', '/bin/bash', user]);
  else run('usermod', ['-d', home, user]);
  run('chpasswd', [], { input: `${user}:${password}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  mkdirSync(home, { recursive: true });
  run('chown', ['-R', `${user}:${user}`, home]);
  return { uid: Number(run('id', ['-u', user]).trim()), gid: Number(run('id', ['-g', user]).trim()) };
}

/**
 * @param {string} template
 * @param {Record<string, unknown>} vars
 */
function render(template, vars) {
  return readFileSync(join(CONF_DIR, template), 'utf8').replace(/\{\{(\w+)\}\}/g, (_, k) => {
    if (!(k in vars)) throw new Error(`lab: ${template} uses {{${k}}} but no value is set`);
    return String(vars[k]);
  });
}

/** Start a long-running process in the server namespace, output to .lab/logs/NAME.log. */
/**
 * @param {string} name
 * @param {string[]} args
 */
function startInSrv(name, args) {
  const out = openSync(join(LAB_DIR, 'logs', `${name}.out`), 'a');
  const child = spawn('ip', inSrv(args), { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  return child.pid;
}

/**
 * @param {string} name
 * @param {LabState} state
 * @param {number | null} cap
 * @param {number | null} [idleSeconds] the server's idle-session timeout (null: its default; pure-ftpd counts whole minutes)
 * @returns {Record<string, number | undefined>}
 */
function startServer(name, state, cap, idleSeconds = null) {
  const s = SERVERS[name];
  const vars = { LAB: LAB_DIR, PKG, SERVER_IP };
  if (name === 'vsftpd') {
    /** @type {Record<string, number | undefined>} */
    const pids = {};
    for (const implicit of [false, true]) {
      const port = implicit ? s.implicitTlsPort : s.port;
      const [min, max] = /** @type {[number, number]} */ (implicit ? s.implicitPasv : s.pasv);
      const conf = join(LAB_DIR, 'run', `vsftpd-${port}.conf`);
      writeFileSync(
        conf,
        render('vsftpd.conf', {
          ...vars,
          PORT: port,
          PASV_MIN: min,
          PASV_MAX: max,
          MAX_PER_IP: cap ?? 0,
          IMPLICIT: implicit ? 'YES' : 'NO',
          IDLE_SESSION_TIMEOUT: idleSeconds ?? 300,
        }),
      );
      pids[implicit ? 'vsftpd-implicit' : 'vsftpd'] = startInSrv(`vsftpd-${port}`, ['vsftpd', conf]);
    }
    return pids;
  }
  if (name === 'pure-ftpd') {
    const args = [
      join(PKG, 'usr/sbin/pure-ftpd'),
      '-S',
      `${SERVER_IP},${s.port}`,
      '-p',
      `${s.pasv[0]}:${s.pasv[1]}`,
      '-P',
      SERVER_IP,
      '-l',
      'unix',
      '-A',
      '-E',
      '-H',
      '-Y',
      '1',
      '-2',
      `${LAB_DIR}/tls/server.crt,${LAB_DIR}/tls/server.key`,
      '-c',
      '200',
      '-u',
      '100',
      '-U',
      '133:022',
      '-g',
      join(LAB_DIR, 'run', 'pure-ftpd.pid'),
    ];
    if (cap) args.push('-C', String(cap));
    if (idleSeconds) args.push('-I', String(Math.max(1, Math.round(idleSeconds / 60))));
    return { 'pure-ftpd': startInSrv('pure-ftpd', args) };
  }
  // proftpd: its own password file (ftpasswd format), DefaultRoot ~ chroots to the home.
  const u = state.users.proftpd;
  // On stdin: a random password may start with '-' (base64url), which openssl would take for an option.
  const hash = run('openssl', ['passwd', '-6', '-stdin'], { input: `${state.password}\n`, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
  writeFileSync(join(LAB_DIR, 'run', 'proftpd.passwd'), `${s.user}:${hash}:${u.uid}:${u.gid}::${state.servers.proftpd.root}:/bin/bash\n`);
  chmodSync(join(LAB_DIR, 'run', 'proftpd.passwd'), 0o600);
  const conf = join(LAB_DIR, 'run', 'proftpd.conf');
  writeFileSync(
    conf,
    render('proftpd.conf', {
      ...vars,
      PORT: s.port,
      PASV_MIN: s.pasv[0],
      PASV_MAX: s.pasv[1],
      MAX_CLIENTS_PER_HOST: cap ? `MaxClientsPerHost ${cap} "Too many connections from your host"` : '',
    }),
  );
  return { proftpd: startInSrv('proftpd', [join(PKG, 'usr/sbin/proftpd'), '-n', '-q', '-c', conf]) };
}

/**
 * @param {string} name
 * @param {LabState} state
 */
function stopServer(name, state) {
  for (const [key, pid] of Object.entries(state.pids)) {
    if (key === name || key.startsWith(`${name}-`)) {
      // `ip netns exec` execs the server, so this pid is the server's own (pure-ftpd/proftpd fork per session).
      tryRun('kill', ['-TERM', String(pid)]);
      delete state.pids[key];
    }
  }
  const ports = name === 'vsftpd' ? [SERVERS.vsftpd.port, SERVERS.vsftpd.implicitTlsPort] : [SERVERS[name].port];
  // Kill session children still bound to the port range (proftpd/pure-ftpd session processes).
  for (const p of ports) tryRun('ip', inSrv(['fuser', '-k', `${p}/tcp`]));
}

function listeningPorts() {
  const out = tryRun('ip', inSrv(['ss', '-Hltn'])) ?? '';
  return new Set(
    out
      .split('\n')
      .map((l) => Number(l.trim().split(/\s+/)[3]?.split(':').pop()))
      .filter(Boolean),
  );
}

/**
 * @param {string} what
 * @param {() => boolean | Promise<boolean>} check
 */
async function waitFor(what, check, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`lab: ${what} did not come up within ${timeoutMs} ms (see ${join(LAB_DIR, 'logs')})`);
}

/** @param {number[]} ports */
function waitPorts(ports) {
  return waitFor(`ports ${ports.join(', ')}`, () => {
    const up = listeningPorts();
    return ports.every((p) => up.has(p));
  });
}

/**
 * @param {string} name
 * @returns {number[]}
 */
function serverPorts(name) {
  return name === 'vsftpd' ? [SERVERS.vsftpd.port, SERVERS.vsftpd.implicitTlsPort] : [SERVERS[name].port];
}

// ---------------------------------------------------------------- up
/**
 * @param {{ rttMs?: number }} [opts] the round trip between the namespaces (default: LAB_RTT_MS, else 0)
 */
export async function labUp({ rttMs = parseRtt(process.env.LAB_RTT_MS || 0) } = {}) {
  if (process.getuid?.() !== 0) throw new Error('lab: needs root (ip netns, nftables, useradd)');
  for (const bin of ['vsftpd', 'nft', 'lftp', 'openssl']) {
    if (tryRun('sh', ['-c', `command -v ${bin}`]) === null) throw new Error(`lab: ${bin} is not installed: run scripts/install-lab-deps.sh`);
  }
  for (const bin of ['usr/sbin/pure-ftpd', 'usr/sbin/proftpd', 'usr/lib/proftpd/mod_tls.so']) {
    if (!existsSync(join(PKG, bin))) throw new Error(`lab: ${join(PKG, bin)} is missing: run scripts/install-lab-deps.sh`);
  }
  const started = Date.now();
  labDown({ quiet: true }); // a stale lab from a crash
  for (const d of ['logs', 'run', 'vsftpd-empty']) mkdirSync(join(LAB_DIR, d), { recursive: true });
  mountRoots();
  chmodSync(LAB_DIR, 0o755);
  const routerPid = makeNetwork(parseRtt(rttMs));
  makeTls(join(LAB_DIR, 'tls'));

  const password = randomBytes(12).toString('base64url');
  /** @type {LabState} */
  const state = {
    startedAt: new Date().toISOString(),
    serverAddress: SERVER_IP,
    clientAddress: CLIENT_IP,
    nsServer: NS_SRV,
    nsClient: NS_CLI,
    password,
    caFile: join(LAB_DIR, 'tls', 'ca.crt'),
    fwSocket: join(LAB_DIR, 'fw.sock'),
    users: {},
    servers: {},
    pids: routerPid ? { router: routerPid } : {},
    rttMs,
  };
  for (const [name, s] of Object.entries(SERVERS)) {
    const root = join(ROOTS_DIR, name);
    rmSync(root, { recursive: true, force: true });
    state.users[name] = ensureUser(s.user, root, password);
    state.servers[name] = {
      name,
      host: SERVER_IP,
      port: s.port,
      user: s.user,
      password,
      root,
      caFile: state.caFile,
      pasvRange: s.pasv,
      ...(s.implicitTlsPort ? { implicitTlsPort: s.implicitTlsPort } : {}),
      features: { implicitTls: Boolean(s.implicitTlsPort) },
    };
  }
  for (const name of Object.keys(SERVERS)) Object.assign(state.pids, startServer(name, state, null));

  // Realtime priority: CSF counts in the kernel's time, not when a busy 2-core machine gets round
  // to it. A sample late by 100 ms misses a ramp of 50 downloads on the lab's LAN.
  state.pids.firewall = startInSrv('firewall-sim', [
    ...realtimePrefix(),
    process.execPath,
    join(REPO, 'lab', 'firewall-sim.mjs'),
    '--socket',
    state.fwSocket,
    '--client',
    CLIENT_IP,
  ]);
  await waitPorts(Object.keys(SERVERS).flatMap(serverPorts));
  await waitFor('the firewall simulator', () => existsSync(state.fwSocket));
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2), { mode: 0o600 });
  log(
    `up in ${((Date.now() - started) / 1000).toFixed(1)} s${rttMs ? ` (round trip ${rttMs} ms through lab/latency-router.py)` : ''}: servers on ${SERVER_IP} (vsftpd :2121, implicit TLS :2990; pure-ftpd :2122; proftpd :2123), client ${CLIENT_IP} in netns ${NS_CLI}`,
  );
  return state;
}

/** Restart one server with a per-IP session cap (null: none) and an idle-session timeout (null: its default). */
/**
 * @param {string} name
 * @param {number | null} cap
 * @param {number | null} [idleSeconds]
 */
export async function restartServer(name, cap, idleSeconds = null) {
  const state = readState();
  if (!state) throw new Error('lab: not up');
  if (!SERVERS[name]) throw new Error(`lab: unknown server ${name}`);
  stopServer(name, state);
  await waitFor(`${name} to stop`, () => serverPorts(name).every((p) => !listeningPorts().has(p)));
  Object.assign(state.pids, startServer(name, state, cap, idleSeconds));
  await waitPorts(serverPorts(name));
  state.caps = { ...(state.caps ?? {}), [name]: cap };
  state.idleTimeouts = { ...(state.idleTimeouts ?? {}), [name]: idleSeconds };
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2), { mode: 0o600 });
}

/** Ask the firewall simulator something (used by `status`). */
/**
 * @param {string} socketPath
 * @param {Record<string, unknown>} request
 * @returns {Promise<any>}
 */
export function fwRequest(socketPath, request) {
  return new Promise((resolveReply, reject) => {
    const sock = net.connect(socketPath);
    let buf = '';
    sock.setTimeout(5000, () => sock.destroy(new Error('firewall simulator did not answer')));
    sock.on('connect', () => sock.write(JSON.stringify(request) + '\n'));
    sock.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        sock.end();
        resolveReply(JSON.parse(buf.slice(0, nl)));
      }
    });
    sock.on('error', reject);
  });
}

// ---------------------------------------------------------------- CLI
const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const [cmd, ...rest] = process.argv.slice(2);
  try {
    const rttIdx = rest.indexOf('--rtt');
    const rtt = rttIdx >= 0 ? parseRtt(rest[rttIdx + 1]) : undefined;
    if (cmd === 'up') {
      const state = await labUp(rtt === undefined ? {} : { rttMs: rtt });
      process.stdout.write(`Lab is up. Try: ip netns exec ${NS_CLI} lftp -u ${state.servers.vsftpd.user},<password in ${STATE_FILE}> ${SERVER_IP}:2121\n`);
    } else if (cmd === 'down') labDown();
    else if (cmd === 'link') setRtt(rtt ?? 0);
    else if (cmd === 'restart') {
      const capIdx = rest.indexOf('--cap');
      const idleIdx = rest.indexOf('--idle');
      await restartServer(rest[0], capIdx >= 0 ? Number(rest[capIdx + 1]) || null : null, idleIdx >= 0 ? Number(rest[idleIdx + 1]) || null : null);
    } else if (cmd === 'status') {
      const state = readState();
      if (!state) process.stdout.write('lab: down\n');
      else process.stdout.write(JSON.stringify(await fwRequest(state.fwSocket, { cmd: 'stats' }), null, 2) + '\n');
    } else {
      process.stderr.write('usage: node scripts/lab.mjs up [--rtt MS] | down | status | link --rtt MS | restart <server> [--cap N] [--idle SECONDS]\n');
      process.exitCode = 2;
    }
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
