import type postgres from 'postgres';
import { eventually } from './harness';

/** The advisory lock the gate's trigger waits for; any number no other code uses. */
const GATE_LOCK = 7_414_001;

export interface CommitGate {
  /** Resolves once some transaction of the service is waiting at its COMMIT. */
  held(): Promise<void>;
  /** Kills the transactions waiting at the gate (they roll back, as if their process had died first), then removes it. */
  release(): Promise<void>;
}

/**
 * Holds the stream worker's commits open. Every applied batch records its
 * event ids in `processed_events`, in the batch's own transaction; a deferred
 * constraint trigger on that table makes COMMIT wait for an advisory lock the
 * test holds. A SIGKILL then lands with a batch applied but not committed:
 * exactly where an entry acknowledged before its commit would be lost.
 */
export async function closeCommitGate(sql: postgres.Sql): Promise<CommitGate> {
  await sql.unsafe(`
    create or replace function hbtest_commit_gate() returns trigger language plpgsql as $$
    begin
      perform pg_advisory_xact_lock_shared(${GATE_LOCK});
      return null;
    end $$`);
  await sql.unsafe(`
    create constraint trigger hbtest_commit_gate after insert on processed_events
    deferrable initially deferred for each row execute function hbtest_commit_gate()`);
  const holder = await sql.reserve();
  await holder`select pg_advisory_lock(${GATE_LOCK})`;
  const waiting = async () =>
    (await sql`select pid from pg_locks where locktype = 'advisory' and objid = ${GATE_LOCK} and not granted`).map((row) => row.pid as number);
  return {
    async held() {
      await eventually(async () => (await waiting()).length > 0, 'a commit waiting at the gate');
    },
    async release() {
      // A backend waiting on a lock does not notice that its client died; terminated, it rolls back.
      for (const pid of await waiting()) await sql`select pg_terminate_backend(${pid})`;
      await sql.unsafe('drop trigger hbtest_commit_gate on processed_events');
      await holder`select pg_advisory_unlock(${GATE_LOCK})`;
      holder.release();
    },
  };
}
