import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../support/harness';

/**
 * A three-node Redis Cluster on loopback (no replicas), as `.ci/run` can
 * start it: redis-server with --cluster-enabled on three free ports, joined
 * by `redis-cli --cluster create`. `stop` kills the nodes and removes their
 * files.
 */
export async function startRedisCluster(): Promise<{ url: string; ports: number[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hb-cluster-'));
  const ports = Array.from({ length: 3 }, () => 30000 + Math.floor(Math.random() * 20000));
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
    await eventually(async () => {
      for (const port of ports) if ((await Bun.$`redis-cli -p ${port} ping`.quiet().text()).trim() !== 'PONG') return false;
      return true;
    }, 'the cluster nodes to answer');
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
