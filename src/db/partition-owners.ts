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

/** A stream entry id (`<ms>-<seq>`) as a row that compares in stream order. */
const entryOrder = (column: string) => `(split_part(${column}, '-', 1)::numeric, split_part(${column}, '-', 2)::numeric)`;

/**
 * Raises the fence, and says what it found: `raised` is null when a newer
 * owner's token was there (then `current` is it). One statement, so a batch
 * pipelined behind it never runs a second query to learn why it was fenced.
 * It also raises the partition's watermark, the highest entry id applied: a
 * replay of entries committed before (a crash before XACK) never lowers it.
 */
const RAISE_FENCE = preparedStatement(
  `with raised as (
     insert into partition_owners (partition, token, owner, last_entry_id) values ($1, $2, $3, $4)
     on conflict (partition) do update set token = excluded.token, owner = excluded.owner, updated_at = now(),
       last_entry_id = case
         when partition_owners.last_entry_id is null or ${entryOrder('excluded.last_entry_id')} > ${entryOrder('partition_owners.last_entry_id')}
         then coalesce(excluded.last_entry_id, partition_owners.last_entry_id)
         else partition_owners.last_entry_id end
       where partition_owners.token <= excluded.token
     returning token
   )
   select (select token from raised) as raised, (select token from partition_owners where partition = $1) as current`,
);
const FENCE_OF = preparedStatement('select token from partition_owners where partition = $1');

/**
 * Run inside the transaction that applies a batch, before anything else: it
 * raises the partition's fence to this lease's token (and its watermark to
 * the batch's last entry id), or throws if a newer owner already raised it. The row lock it takes also serialises the commits
 * of a partition: an old owner's transaction in progress finishes (or aborts)
 * before the new owner's first one reads anything.
 */
export async function checkFence(tx: Executor, lease: PartitionLease, lastEntryId: string | null = null): Promise<void> {
  const [row] = await runPrepared<{ raised: number | string | null; current: number | string | null }>(tx, RAISE_FENCE, [
    lease.partition,
    lease.token,
    lease.owner,
    lastEntryId,
  ]);
  if (row?.raised !== null && row?.raised !== undefined) return;
  throw new FencedError(lease, row?.current === null || row?.current === undefined ? undefined : Number(row.current));
}

/** The token Postgres last accepted for a partition (0 before any batch): a new lease's token must exceed it. */
export async function fenceOf(database: Database, partition: number): Promise<number> {
  const [row] = await runPrepared<{ token: number | string }>(database.db, FENCE_OF, [partition]);
  return row ? Number(row.token) : 0;
}

/** What Postgres knows was applied from a partition: its highest entry id and when the last batch committed. */
export interface AppliedMark {
  entryId: string;
  at: Date;
}

const MARK_OF = preparedStatement('select last_entry_id, updated_at from partition_owners where partition = $1 and last_entry_id is not null');

export async function appliedMarkOf(database: Database, partition: number): Promise<AppliedMark | null> {
  const [row] = await runPrepared<{ last_entry_id: string; updated_at: Date | string }>(database.db, MARK_OF, [partition]);
  return row ? { entryId: row.last_entry_id, at: new Date(row.updated_at) } : null;
}
