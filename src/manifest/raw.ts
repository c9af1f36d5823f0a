/** The manifest as YAML gives it, after schema validation and before defaults and normalization. */
import type { ServerConfig, SyncConfig } from './types.js';

export interface RawServer {
  host: string;
  port?: number;
  user: string;
  password?: string;
  passwordFile?: string;
  tls?: ServerConfig['tls'];
  ca?: string;
  servername?: string;
  insecure?: boolean;
  mode?: ServerConfig['mode'];
  active?: { address?: string; portRange?: [number, number] };
  timeouts?: { connect?: string | number; data?: string | number };
  dataClose?: ServerConfig['dataClose'];
  listing?: ServerConfig['listing'];
  firewall?: {
    maxConnections?: number;
    timeWait?: string | number;
    headroom?: number;
    parallel?: number | 'auto';
    maxSessions?: number;
    confirmed?: boolean;
    sampleInterval?: string | number;
    onBlock?: { policy?: 'stop' | 'wait'; maxWait?: string | number };
  };
}
export interface RawSync {
  name: string;
  server?: string;
  servers?: string[];
  direction: SyncConfig['direction'];
  local: string;
  remote: string;
  delete?: boolean;
  exclude?: string[];
  include?: string[];
  compare?: SyncConfig['compare'];
  last?: string[];
  protect?: string[];
  maxDelete?: number | string;
  twoPhase?: boolean;
  keepReleases?: number;
  releasesDir?: string;
}
export interface RawManifest {
  version: 1;
  servers: Record<string, RawServer>;
  syncs: RawSync[];
  rollout?: { stages?: Array<{ name?: string; servers: string[] }>; haltOnFailure?: boolean };
}
