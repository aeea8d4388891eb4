/**
 * A Postgres server of the soak's own (SOAK_POSTGRES=private, the default):
 * initdb into a fresh directory, started on a free loopback port with the
 * stock settings, so autovacuum runs as in production. A shared server
 * tuned for a test suite (autovacuum off, as CI may set it) would show dead
 * tuples that nothing reclaims. Stopped and removed at the end.
 */
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../tests/support/ports';

export async function startPrivatePostgres(): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  const bin = (await Bun.$`pg_config --bindir`.text()).trim();
  const dir = mkdtempSync(join(tmpdir(), 'hb-soak-postgres-'));
  const data = join(dir, 'data');
  // initdb and postgres refuse to run as root: as root, the server runs as the postgres user.
  const asOwner = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  if (asOwner.length > 0) {
    chownSync(dir, Number(await Bun.$`id -u postgres`.text()), Number(await Bun.$`id -g postgres`.text()));
  }
  const init = Bun.spawnSync([...asOwner, join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], { stdout: 'ignore', stderr: 'pipe' });
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString().trim()}`);
  const port = freePort();
  const pgCtl = (...args: string[]) => Bun.spawnSync([...asOwner, join(bin, 'pg_ctl'), '-D', data, '-w', ...args], { stdout: 'ignore', stderr: 'pipe' });
  const started = pgCtl('-l', join(dir, 'server.log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start');
  if (started.exitCode !== 0) throw new Error(`the soak's own Postgres did not start: ${started.stderr.toString().trim()}`);
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    adminUrl,
    async stop() {
      // A fast shutdown: the sessions ended, nothing written to keep.
      pgCtl('-m', 'fast', 'stop');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
