import Redis, { Cluster } from 'ioredis';
import { errorSummary } from '../errors';

/** What one Redis primary says of how it keeps what it acknowledged. Undefined: it would not say. */
export interface NodePersistence {
  node: string;
  runId?: string;
  /** INFO persistence's aof_enabled (readable where CONFIG is not, as on most managed Redis). */
  aof?: boolean;
  /** CONFIG GET appendfsync: always, everysec or no. */
  appendfsync?: string;
  /** CONFIG GET save: the RDB snapshot points, '' when off. */
  rdbSave?: string;
  /** INFO replication's connected_slaves. */
  replicas?: number;
  /** Why CONFIG GET, or INFO, was refused (a managed Redis often renames or forbids CONFIG). */
  configRefused?: string;
  infoRefused?: string;
}

export interface PersistenceReport {
  /** Every primary: one for a single Redis, each shard's for a Cluster (each keeps its own partitions' entries). */
  nodes: NodePersistence[];
  /** True when every primary says AOF is on: a restart gives back what it acknowledged (within appendfsync). */
  aof: boolean;
  /** True when some primary would not say. */
  unknown: boolean;
}

/** `key:value` lines of an INFO section. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

export function nodeName(redis: Redis): string {
  const { path, host, port } = redis.options;
  return path ? 'unix socket' : `${host ?? '127.0.0.1'}:${port ?? 6379}`;
}

/** The primaries to ask: on a Cluster each shard persists (or not) on its own. */
export function primariesOf(redis: Redis): Redis[] {
  return redis instanceof Cluster ? (redis as Cluster).nodes('master') : [redis];
}

async function configValue(redis: Redis, name: string): Promise<string> {
  const reply = (await redis.call('CONFIG', 'GET', name)) as string[];
  if (reply.length < 2) throw new Error(`CONFIG GET ${name} returned nothing`);
  return reply[1]!;
}

/** The run id a node has now: it changes when the process restarts or another node takes its address over. */
export async function runIdOf(redis: Redis): Promise<string | undefined> {
  return parseInfo(String(await redis.call('INFO', 'server'))).get('run_id');
}

export async function readNodePersistence(redis: Redis): Promise<NodePersistence> {
  const found: NodePersistence = { node: nodeName(redis) };
  try {
    const info = parseInfo(String(await redis.call('INFO', 'persistence')) + '\n' + String(await redis.call('INFO', 'replication')));
    if (info.has('aof_enabled')) found.aof = info.get('aof_enabled') === '1';
    if (info.has('connected_slaves')) found.replicas = Number(info.get('connected_slaves'));
    found.runId = await runIdOf(redis);
  } catch (error) {
    found.infoRefused = errorSummary(error);
  }
  try {
    const appendonly = await configValue(redis, 'appendonly');
    found.aof ??= appendonly === 'yes';
    found.appendfsync = await configValue(redis, 'appendfsync');
    found.rdbSave = await configValue(redis, 'save');
  } catch (error) {
    found.configRefused = errorSummary(error);
  }
  return found;
}

export async function readPersistence(redis: Redis): Promise<PersistenceReport> {
  const nodes = await Promise.all(primariesOf(redis).map(readNodePersistence));
  return { nodes, aof: nodes.length > 0 && nodes.every((node) => node.aof === true), unknown: nodes.some((node) => node.aof === undefined) };
}

const FSYNC_LOSS: Record<string, string> = {
  always: 'fsync before each reply: nothing acknowledged is lost',
  everysec: 'a crash of the machine can lose the last second acknowledged',
  no: 'the OS flushes when it likes: a crash of the machine can lose the last 30 s or so',
};

function describeNode(node: NodePersistence): string {
  const parts: string[] = [];
  if (node.aof === true) {
    parts.push(
      node.appendfsync ? `AOF on, appendfsync ${node.appendfsync} (${FSYNC_LOSS[node.appendfsync] ?? 'unknown policy'})` : 'AOF on, appendfsync unknown',
    );
  } else if (node.aof === false) {
    const rdb = node.rdbSave === undefined ? '' : node.rdbSave === '' ? ', no RDB snapshots' : `, RDB snapshots only (save ${node.rdbSave})`;
    parts.push(`AOF off${rdb}`);
  } else {
    parts.push('persistence unknown');
  }
  if (node.replicas !== undefined) parts.push(`${node.replicas} replica${node.replicas === 1 ? '' : 's'}`);
  if (node.configRefused) parts.push(`CONFIG GET refused (${node.configRefused})`);
  if (node.infoRefused) parts.push(`INFO refused (${node.infoRefused})`);
  return parts.join(', ');
}

/** One line for the boot log: what every primary said, grouped when they all say the same. */
export function describePersistence(report: PersistenceReport): string {
  const described = report.nodes.map(describeNode);
  const found =
    report.nodes.length === 1
      ? described[0]!
      : new Set(described).size === 1
        ? `${report.nodes.length} primaries, each: ${described[0]}`
        : report.nodes.map((node, index) => `${node.node}: ${described[index]}`).join('; ');
  if (report.aof) return `Redis persistence: ${found}`;
  const risk = report.unknown
    ? 'Redis did not say whether it keeps what it acknowledged'
    : 'A Redis restart loses the events acknowledged (200) and not yet applied, and Meta does not resend them';
  return `Redis persistence: ${found}. ${risk}: turn AOF on (appendonly yes; docs/OPERATIONS.md, "Running Redis for this service")`;
}
