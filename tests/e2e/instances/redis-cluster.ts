import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../support/harness';
import { isFree } from '../../support/ports';

/**
 * A three-node Redis Cluster on loopback (no replicas), as `.ci/run` can
 * start it: redis-server with --cluster-enabled on three free ports, joined
 * by `redis-cli --cluster create`. `stop` kills the nodes and removes their
 * files.
 */
export async function startRedisCluster(): Promise<{ url: string; ports: number[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hb-cluster-'));
  const ports: number[] = [];
  while (ports.length < 3) {
    // Below Linux's ephemeral range (32768 and up), with the cluster bus port (port + 10000), and apart from the
    // blocks tests/support/ports.ts hands out.
    const port = 20000 + Math.floor(Math.random() * 2700);
    if (!ports.includes(port) && isFree(port) && isFree(port + 10000)) ports.push(port);
  }
  const nodes = ports.map((port) =>
    Bun.spawn(
      [
        'redis-server',
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { stdout: 'ignore', stderr: 'ignore' },
    ),
  );
  const stop = async () => {
    for (const node of nodes) node.kill('SIGKILL');
    await Promise.all(nodes.map((node) => node.exited));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(
      async () => {
        for (const port of ports) if ((await Bun.$`redis-cli -p ${port} ping`.quiet().text()).trim() !== 'PONG') return false;
        return true;
      },
      'the cluster nodes to answer',
      20_000,
    );
    await Bun.$`redis-cli --cluster create ${ports.map((port) => `127.0.0.1:${port}`)} --cluster-replicas 0 --cluster-yes`.quiet();
    await eventually(
      async () => {
        for (const port of ports) if (!(await Bun.$`redis-cli -p ${port} cluster info`.quiet().text()).includes('cluster_state:ok')) return false;
        return true;
      },
      'the cluster to be ok',
      20_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`, ports, stop };
}
