import type Redis from 'ioredis';

/**
 * The dead-letter stream is for operators, who re-drive or inspect it; the
 * bound only stops a runaway (a bad deploy failing every event) from filling
 * Redis. `~` lets Redis trim whole nodes, so it may hold slightly more.
 */
export const DEAD_LETTER_MAXLEN = 100_000;

/**
 * Trims one partition's acknowledged history, atomically (a script: no read
 * or acknowledgement can slip between the look and the trim). The floor is
 * the lowest of: the oldest pending entry (read, not yet acknowledged), the
 * group's last-delivered-id (everything after it is unread), and
 * `now - retention` (entry ids are millisecond timestamps). XTRIM MINID
 * removes only ids below the floor, and `~` only whole nodes below it, so an
 * entry that was never applied is never trimmed, however long Postgres is
 * down. A plain MAXLEN on XADD would drop such a backlog: messages lost.
 *
 * Bound: a partition holds its unacknowledged backlog, plus the entries of
 * the last STREAM_RETENTION_S (kept for forensics), plus up to one node
 * (stream-node-max-entries, 100 by default) between trims.
 */
const TRIM_ACKNOWLEDGED = `
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if groups['err'] then return 0 end
local floor = nil
for _, group in ipairs(groups) do
  local fields = {}
  for i = 1, #group, 2 do fields[group[i]] = group[i + 1] end
  if fields['name'] == ARGV[1] then floor = fields['last-delivered-id'] end
end
if not floor then return 0 end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
if pending[1] > 0 and before(pending[2], floor) then floor = pending[2] end
if before(ARGV[2], floor) then floor = ARGV[2] end
if floor == '0-0' then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', '~', floor)
`;

/** Trims what `group` has acknowledged and is older than `retentionMs`; returns how many entries went. */
export async function trimAcknowledged(redis: Redis, stream: string, group: string, retentionMs: number, now = Date.now()): Promise<number> {
  const trimmed = await redis.eval(TRIM_ACKNOWLEDGED, 1, stream, group, `${Math.max(0, now - retentionMs)}-0`);
  return Number(trimmed);
}

/** Removes dead letters that failed before `now - retentionMs` (their ids are the time they were dead-lettered). */
export async function trimDeadLetters(redis: Redis, deadLetterStream: string, retentionMs: number, now = Date.now()): Promise<number> {
  return Number(await redis.xtrim(deadLetterStream, 'MINID', `${Math.max(0, now - retentionMs)}-0`));
}
