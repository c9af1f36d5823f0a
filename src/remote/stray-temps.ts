/**
 * Temporary upload names (.ftpsync-tmp-*) a failed upload left on the server: removed at once
 * when the connection still works, else remembered for the pool and removed by the next session
 * that stores a file, so a run that recovered (e.g. from a firewall block) leaves none behind.
 */
import type { Client } from 'basic-ftp';
import type { SharedServerFacts } from './types.js';

export class StrayTemps {
  constructor(
    private readonly client: Client,
    private readonly shared: SharedServerFacts,
  ) {}

  /** After a failed upload: remove its temporary file now, or leave it to the next good session. */
  async afterFailure(tmp: string): Promise<void> {
    const removed = !this.client.closed && (await this.removeIgnoringReply(tmp));
    if (!removed) (this.shared.strayTemps ??= new Set()).add(tmp);
  }

  /** Remove what earlier failed uploads left (a DELE each, no data connection). Gone already (550) is fine. */
  async sweep(): Promise<void> {
    const stray = this.shared.strayTemps;
    if (!stray || stray.size === 0) return;
    for (const tmp of [...stray]) {
      stray.delete(tmp);
      if (!(await this.removeIgnoringReply(tmp))) {
        stray.add(tmp); // this session died too: the next one tries again
        return;
      }
    }
  }

  /** DELE whatever the reply (550: gone already); false only when the connection failed. */
  private removeIgnoringReply(path: string): Promise<boolean> {
    return this.client.remove(path, true).then(
      () => true,
      () => false,
    );
  }
}
