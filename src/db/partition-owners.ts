import { preparedStatement, runPrepared } from './bulk';
import type { Database, Executor } from './client';

/** A partition's lease as the batch that applies it holds it. */
export interface PartitionLease {
  partition: number;
  /** Grows with every new owner of the partition (INCR in Redis): the fencing token. */
  token: number;
  owner: string;
}

/** The lease was taken over: this batch must not commit, and its entries are the new owner's to replay. */
export class FencedError extends Error {
  readonly code = 'fenced';
  constructor(lease: PartitionLease, current: number | undefined) {
    super(`partition ${lease.partition} is fenced: lease token ${lease.token} is older than ${current ?? 'the current one'}`);
  }
}

/**
 * Raises the fence, and says what it found: `raised` is null when a newer
 * owner's token was there (then `current` is it). One statement, so a batch
 * pipelined behind it never runs a second query to learn why it was fenced.
 */
const RAISE_FENCE = preparedStatement(
  `with raised as (
     insert into partition_owners (partition, token, owner) values ($1, $2, $3)
     on conflict (partition) do update set token = excluded.token, owner = excluded.owner, updated_at = now()
       where partition_owners.token <= excluded.token
     returning token
   )
   select (select token from raised) as raised, (select token from partition_owners where partition = $1) as current`,
);
const FENCE_OF = preparedStatement('select token from partition_owners where partition = $1');

/**
 * Run inside the transaction that applies a batch, before anything else: it
 * raises the partition's fence to this lease's token, or throws if a newer
 * owner already raised it. The row lock it takes also serialises the commits
 * of a partition: an old owner's transaction in progress finishes (or aborts)
 * before the new owner's first one reads anything.
 */
export async function checkFence(tx: Executor, lease: PartitionLease): Promise<void> {
  const [row] = await runPrepared<{ raised: number | string | null; current: number | string | null }>(tx, RAISE_FENCE, [
    lease.partition,
    lease.token,
    lease.owner,
  ]);
  if (row?.raised !== null && row?.raised !== undefined) return;
  throw new FencedError(lease, row?.current === null || row?.current === undefined ? undefined : Number(row.current));
}

/** The token Postgres last accepted for a partition (0 before any batch): a new lease's token must exceed it. */
export async function fenceOf(database: Database, partition: number): Promise<number> {
  const [row] = await runPrepared<{ token: number | string }>(database.db, FENCE_OF, [partition]);
  return row ? Number(row.token) : 0;
}
