/**
 * What an unset manifest key means. Shaped like the schema (`$defs/server`, `$defs/firewall`,
 * `$defs/sync`, top-level `rollout`) so test/manifest/defaults.test.ts can prove every schema
 * `default` equals the value here, and every value here is a schema default.
 */
export const DEFAULTS = {
  server: {
    tls: 'explicit',
    insecure: false,
    mode: 'passive',
    timeouts: { connect: '15s', data: '30s' },
    dataClose: 'auto',
    listing: 'auto',
  },
  firewall: {
    maxConnections: 100,
    timeWait: '240s',
    headroom: 0.8,
    parallel: 'auto',
    maxSessions: 4,
    confirmed: false,
    sampleInterval: '30s',
    onBlock: { policy: 'stop', maxWait: '35m' },
  },
  sync: {
    delete: false,
    exclude: [],
    include: [],
    compare: 'auto',
    last: [],
    protect: [],
    twoPhase: true,
    keepReleases: 1,
  },
  rollout: { haltOnFailure: true },
} as const;
