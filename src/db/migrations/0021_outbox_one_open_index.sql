-- No query reads the open rows by next_attempt_at: the claim finds each lane's head in outbox_open_lane_idx and tests
-- it for being due. Yet on a backlog the statistics had not seen (an analyze of a drained outbox, then thousands of
-- open rows) Postgres read the heads from this index and sorted them: every open row at every step of the claim, the
-- claim's cost growing with the backlog it should drain (bench:e2e's shaped phase: 40 to 68 ms a claim). Without it
-- each head is one probe, and a retry's new next_attempt_at no longer writes an index entry.
DROP INDEX "outbox_due_idx";
