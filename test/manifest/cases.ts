/** Bad manifests, each with the first error expected: line, column and exact message. */
export const GOOD_SERVER = `servers:
  web:
    host: ftp.example.com
    user: deploy
    password: \${FTP_PASSWORD}
`;
export const GOOD_SYNC = `syncs:
  - name: site
    server: web
    direction: upload
    local: .
    remote: /www
`;

export interface BadCase {
  name: string;
  yaml: string;
  line: number;
  col: number;
  message: string;
}

const v1 = 'version: 1\n';

export const BAD_CASES: BadCase[] = [
  { name: 'version missing', yaml: GOOD_SERVER + GOOD_SYNC, line: 1, col: 1, message: '(top level) is missing "version"' },
  { name: 'version 2', yaml: 'version: 2\n' + GOOD_SERVER + GOOD_SYNC, line: 1, col: 10, message: 'version must be 1 (got 2)' },
  {
    name: 'unknown top-level key',
    yaml: v1 + 'sever: {}\n' + GOOD_SERVER + GOOD_SYNC,
    line: 2,
    col: 1,
    message: 'unknown key "sever" in (top level); expected one of: $schema, version, servers, syncs, rollout',
  },
  { name: 'servers missing', yaml: v1 + GOOD_SYNC, line: 1, col: 1, message: '(top level) is missing "servers"' },
  { name: 'servers empty', yaml: v1 + 'servers: {}\n' + GOOD_SYNC, line: 2, col: 10, message: 'servers must define at least 1 entry' },
  { name: 'server host missing', yaml: v1 + 'servers:\n  web:\n    user: u\n' + GOOD_SYNC, line: 4, col: 5, message: 'servers.web is missing "host"' },
  {
    name: 'unknown server key',
    yaml: v1 + GOOD_SERVER + '    hots: x\n' + GOOD_SYNC,
    line: 7,
    col: 5,
    message:
      'unknown key "hots" in servers.web; expected one of: host, port, user, password, passwordFile, tls, ca, servername, insecure, mode, active, timeouts, dataClose, listing, firewall',
  },
  {
    name: 'port not a number',
    yaml: v1 + GOOD_SERVER + '    port: twenty-one\n' + GOOD_SYNC,
    line: 7,
    col: 11,
    message: 'servers.web.port must be an integer (got "twenty-one")',
  },
  {
    name: 'port too big',
    yaml: v1 + GOOD_SERVER + '    port: 70000\n' + GOOD_SYNC,
    line: 7,
    col: 11,
    message: 'servers.web.port must be <= 65535 (got 70000)',
  },
  {
    name: 'tls typo',
    yaml: v1 + GOOD_SERVER + '    tls: tsl\n' + GOOD_SYNC,
    line: 7,
    col: 10,
    message: 'servers.web.tls must be one of "none", "explicit", "implicit" (got "tsl")',
  },
  {
    name: 'mode typo',
    yaml: v1 + GOOD_SERVER + '    mode: pasv\n' + GOOD_SYNC,
    line: 7,
    col: 11,
    message: 'servers.web.mode must be one of "passive", "active" (got "pasv")',
  },
  {
    name: 'insecure not boolean',
    yaml: v1 + GOOD_SERVER + '    insecure: maybe\n' + GOOD_SYNC,
    line: 7,
    col: 15,
    message: 'servers.web.insecure must be a boolean (true or false) (got "maybe")',
  },
  {
    name: 'headroom above 1',
    yaml: v1 + GOOD_SERVER + '    firewall:\n      headroom: 1.5\n' + GOOD_SYNC,
    line: 8,
    col: 17,
    message: 'servers.web.firewall.headroom must be <= 1 (got 1.5)',
  },
  {
    name: 'headroom zero',
    yaml: v1 + GOOD_SERVER + '    firewall:\n      headroom: 0\n' + GOOD_SYNC,
    line: 8,
    col: 17,
    message: 'servers.web.firewall.headroom must be > 0 (got 0)',
  },
  {
    name: 'maxConnections 1',
    yaml: v1 + GOOD_SERVER + '    firewall:\n      maxConnections: 1\n' + GOOD_SYNC,
    line: 8,
    col: 23,
    message: 'servers.web.firewall.maxConnections must be >= 2 (got 1)',
  },
  {
    name: 'timeWait not a duration',
    yaml: v1 + GOOD_SERVER + '    firewall:\n      timeWait: sixty\n' + GOOD_SYNC,
    line: 8,
    col: 17,
    message: 'servers.web.firewall.timeWait must be a duration like "60s", "4m", "1500ms" or a number of seconds (got "sixty")',
  },
  {
    name: 'unknown firewall key',
    yaml: v1 + GOOD_SERVER + '    firewall:\n      limit: 100\n' + GOOD_SYNC,
    line: 8,
    col: 7,
    message:
      'unknown key "limit" in servers.web.firewall; expected one of: maxConnections, timeWait, headroom, parallel, maxSessions, confirmed, sampleInterval, onBlock',
  },
  // countedPorts was removed (ftpsync counts every connection): a manifest that still sets it is told so.
  {
    name: 'countedPorts removed',
    yaml: v1 + GOOD_SERVER + '    firewall:\n      countedPorts: all\n' + GOOD_SYNC,
    line: 8,
    col: 7,
    message:
      'unknown key "countedPorts" in servers.web.firewall; expected one of: maxConnections, timeWait, headroom, parallel, maxSessions, confirmed, sampleInterval, onBlock',
  },
  {
    name: 'onBlock policy typo',
    yaml: v1 + GOOD_SERVER + '    firewall:\n      onBlock: { policy: retry }\n' + GOOD_SYNC,
    line: 8,
    col: 26,
    message: 'servers.web.firewall.onBlock.policy must be one of "stop", "wait" (got "retry")',
  },
  {
    name: 'releasesDir inside the web root',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC + '    releasesDir: /www/old\n',
    line: 13,
    col: 18,
    message:
      'sync "site": releasesDir /www/old is inside /www, its own remote on server "web"; put it beside the web root (same filesystem: releases are renames), e.g. /ftpsync-releases/site',
  },
  {
    name: 'releasesDir shared by two syncs',
    yaml:
      v1 + GOOD_SERVER + GOOD_SYNC + '    releasesDir: /rel\n  - { name: blog, server: web, direction: upload, local: ., remote: /blog, releasesDir: /rel }\n',
    line: 14,
    col: 89,
    message: 'sync "blog": releasesDir /rel is also syncs[0]\'s on server "web"; give each sync its own',
  },
  {
    name: 'parallel above maxSessions',
    yaml: v1 + GOOD_SERVER + '    firewall:\n      parallel: 6\n      maxSessions: 4\n' + GOOD_SYNC,
    line: 8,
    col: 17,
    message: "web: parallel (6) is above maxSessions (4), the server's own per-IP session cap",
  },
  {
    name: 'budget too small',
    yaml: v1 + GOOD_SERVER + '    firewall:\n      maxConnections: 3\n      headroom: 0.5\n' + GOOD_SYNC,
    line: 7,
    col: 5,
    message: 'web: the budget floor(maxConnections × headroom) − parallel = 0 leaves no room for data connections; raise maxConnections or headroom',
  },
  {
    name: 'budget too small for a set parallel',
    yaml: v1 + GOOD_SERVER + '    firewall:\n      maxConnections: 3\n      headroom: 0.5\n      parallel: 2\n' + GOOD_SYNC,
    line: 7,
    col: 5,
    message:
      'web: the budget floor(maxConnections × headroom) − parallel = -1 leaves no room for data connections; raise maxConnections or headroom, or lower parallel',
  },
  {
    name: 'password and passwordFile',
    yaml: v1 + GOOD_SERVER + '    passwordFile: ./pw\n' + GOOD_SYNC,
    line: 7,
    col: 5,
    message: 'web: set password or passwordFile, not both',
  },
  {
    name: 'bad server name',
    yaml: v1 + 'servers:\n  "web server":\n    host: h\n    user: u\n' + GOOD_SYNC,
    line: 3,
    col: 3,
    message: 'server name "web server" must be letters, digits, "_", "." and "-", starting with a letter or digit',
  },
  { name: 'syncs missing', yaml: v1 + GOOD_SERVER, line: 1, col: 1, message: '(top level) is missing "syncs"' },
  { name: 'syncs empty', yaml: v1 + GOOD_SERVER + 'syncs: []\n', line: 7, col: 8, message: 'syncs must have at least 1 item' },
  {
    name: 'sync direction typo',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC.replace('upload', 'up'),
    line: 10,
    col: 16,
    message: 'syncs[0].direction must be one of "upload", "download" (got "up")',
  },
  {
    name: 'sync remote relative',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC.replace('/www', 'www'),
    line: 12,
    col: 13,
    message: 'syncs[0].remote must be an absolute remote path starting with "/" (got "www")',
  },
  {
    name: 'sync remote with ..',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC.replace('/www', '/www/../etc'),
    line: 12,
    col: 13,
    message: 'syncs[0].remote must not contain "..", "\\" or NUL (got "/www/../etc")',
  },
  {
    name: 'sync unknown server',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC.replace('server: web', 'server: wbe'),
    line: 9,
    col: 13,
    message: 'sync "site" names unknown server "wbe"; known servers: web',
  },
  {
    name: 'sync server and servers',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC.replace('server: web', 'server: web\n    servers: [web]'),
    line: 8,
    col: 5,
    message: 'syncs[0] needs either "server" or "servers" (not both)',
  },
  {
    name: 'sync without server',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC.replace('    server: web\n', ''),
    line: 8,
    col: 5,
    message: 'syncs[0] needs either "server" or "servers" (not both)',
  },
  {
    name: 'sync unknown key',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC + '    dlete: true\n',
    line: 13,
    col: 5,
    message:
      'unknown key "dlete" in syncs[0]; expected one of: name, server, servers, direction, local, remote, delete, exclude, include, compare, last, protect, twoPhase, keepReleases, releasesDir, maxDelete',
  },
  {
    name: 'compare typo',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC + '    compare: md5\n',
    line: 13,
    col: 14,
    message: 'syncs[0].compare must be one of "auto", "size-mtime", "size", "checksum" (got "md5")',
  },
  {
    name: 'maxDelete not a count or percentage',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC + '    maxDelete: half\n',
    line: 13,
    col: 16,
    message: 'syncs[0].maxDelete must be a number of files or a percentage of the target\'s files like "25%" (got "half")',
  },
  {
    name: 'maxDelete over 100 %',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC + '    maxDelete: 150%\n',
    line: 13,
    col: 16,
    message: 'sync "site": maxDelete "150%" is over 100 %; "100%" already allows any deletion',
  },
  {
    name: 'exclude not a list',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC + '    exclude: "*.map"\n',
    line: 13,
    col: 14,
    message: 'syncs[0].exclude must be a list (got "*.map")',
  },
  {
    name: 'duplicate sync names',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC + GOOD_SYNC.replace('syncs:\n', '').replace('/www', '/other'),
    line: 13,
    col: 11,
    message: 'duplicate sync name "site" (also syncs[0]); names must be unique',
  },
  {
    name: 'two syncs write one remote dir',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC + GOOD_SYNC.replace('syncs:\n', '').replace('name: site', 'name: two').replace('/www', '/www/sub'),
    line: 17,
    col: 13,
    message: 'sync "two" and syncs[0] both write /www and /www/sub on server "web"; give each sync its own remote directory',
  },
  {
    name: 'local upload dir missing',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC.replace('local: .', 'local: ./does-not-exist'),
    line: 11,
    col: 12,
    message: 'sync "site": local directory ./does-not-exist does not exist (resolved to {DIR}/does-not-exist)',
  },
  {
    name: 'rollout unknown server',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC + 'rollout:\n  stages:\n    - servers: [web, staging]\n',
    line: 15,
    col: 22,
    message: 'rollout stage 1 names unknown server "staging"; known servers: web',
  },
  {
    name: 'rollout leaves a server out',
    yaml:
      v1 +
      GOOD_SERVER +
      '  two:\n    host: h\n    user: u\n    password: ${X}\n' +
      GOOD_SYNC.replace('server: web', 'servers: [web, two]') +
      'rollout:\n  stages:\n    - servers: [web]\n',
    line: 19,
    col: 5,
    message: 'rollout leaves out server "two"; add it to a stage (or remove its syncs)',
  },
  {
    name: 'rollout server twice',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC + 'rollout:\n  stages:\n    - servers: [web]\n    - servers: [web]\n',
    line: 16,
    col: 17,
    message: 'server "web" is in rollout stage 1 and stage 2; list each server once',
  },
  {
    name: 'haltOnFailure not boolean',
    yaml: v1 + GOOD_SERVER + GOOD_SYNC + 'rollout:\n  haltOnFailure: yes\n',
    line: 14,
    col: 18,
    message: 'rollout.haltOnFailure must be a boolean (true or false) (got "yes")',
  },
  {
    name: 'duplicate key',
    yaml: v1 + GOOD_SERVER + '    host: other\n' + GOOD_SYNC,
    line: 7,
    col: 5,
    message: 'YAML: duplicate key: each key may appear once in a mapping',
  },
  {
    name: 'YAML syntax error',
    yaml: v1 + 'servers: [unclosed\n' + GOOD_SYNC,
    line: 3,
    col: 1,
    message: 'YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
  },
  { name: 'top level is a list', yaml: '- a\n- b\n', line: 1, col: 1, message: 'must be a mapping with version, servers and syncs (got a list)' },
];
