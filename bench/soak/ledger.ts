/**
 * Nothing lost, nothing twice, counted by id where each message lands:
 *   a user message at the CRM by its wamid (a CRM dedupes by Idempotency-Key, so two keys are a duplicate);
 *   an agent message or a bot reply at Graph by `recipient|text` (every phone is new to its walk,
 *   and every agent text unique, so any second acceptance is a duplicate);
 *   a ticket update at the CRM by ticket and reason, under one key;
 *   every status: the sends Graph gave a wamid must all end `read` in the service's history
 *   (read-only SQL on `messages` by wa_message_id and status).
 * Waited for as long as things keep landing. Also after the traffic: the walks and closes that got stuck, calls answered neither 200 nor 202.
 */
import postgres from 'postgres';
import type { SoakFakes } from './fakes';
import type { StatusPump } from './statuses';
import type { Records } from './traffic';

export interface Tally {
  userMessages: { sent: number; lost: number; duplicated: number };
  agentMessages: { sent: number; lost: number; duplicated: number };
  botReplies: { sent: number; duplicated: number };
  ticketUpdates: { sent: number; duplicated: number };
  statuses: { posted: number; sends: number; read: number };
  failures: string[];
}

/**
 * Until `done`, or nothing new landed (`progress` unchanged) for 30 s: a service far behind is late, not lossy,
 * and is waited for as long as it moves (at most 15 minutes).
 */
async function until(done: () => boolean | Promise<boolean>, progress: () => number): Promise<boolean> {
  const deadline = Date.now() + 15 * 60_000;
  let seen = progress();
  let movedAt = Date.now();
  while (Date.now() < deadline && Date.now() - movedAt < 30_000) {
    if (await done()) return true;
    await Bun.sleep(200);
    if (progress() !== seen) [seen, movedAt] = [progress(), Date.now()];
  }
  return done();
}

/** Waits (bounded) for everything started to land, then counts. */
export async function account(records: Records, fakes: SoakFakes, pump: StatusPump, databaseUrl: string): Promise<Tally> {
  const failures = [...records.failures];
  const landed = () => fakes.crmFirst.size + fakes.graphFirst.size + pump.posted.length;
  await until(() => records.users.every(({ id }) => fakes.crmFirst.has(id)), landed);
  await until(() => records.agents.every(({ key }) => fakes.graphFirst.has(key)), landed);
  if (!(await until(pump.drained, landed))) failures.push('statuses: some were never accepted by the service');

  const lostUsers = records.users.filter(({ id }) => !fakes.crmKeys.has(id)).length;
  const twiceUsers = records.users.filter(({ id }) => (fakes.crmKeys.get(id)?.size ?? 0) > 1).length;
  const agentKeys = new Set(records.agents.map(({ key }) => key));
  const lostAgents = [...agentKeys].filter((key) => !fakes.graphSends.has(key)).length;
  const twiceAgents = [...agentKeys].filter((key) => fakes.graphSends.get(key)! > 1).length;
  const botKeys = [...fakes.graphSends.keys()].filter((key) => !agentKeys.has(key));
  const twiceBot = botKeys.filter((key) => fakes.graphSends.get(key)! > 1).length;
  const twiceUpdates = [...fakes.ticketUpdates.values()].filter((keys) => keys.size > 1).length;

  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  let read = 0;
  try {
    const like = `${fakes.wamidPrefix}%`;
    await until(async () => {
      const [row] = await sql`select count(*)::int as read from messages where wa_message_id like ${like} and status = 'read'`;
      read = row!.read as number;
      return read >= fakes.wamidsIssued();
    }, () => read);
  } finally {
    await sql.end();
  }

  const tally: Tally = {
    userMessages: { sent: records.users.length, lost: lostUsers, duplicated: twiceUsers },
    agentMessages: { sent: agentKeys.size, lost: lostAgents, duplicated: twiceAgents },
    botReplies: { sent: botKeys.length, duplicated: twiceBot },
    ticketUpdates: { sent: fakes.ticketUpdates.size, duplicated: twiceUpdates },
    statuses: { posted: pump.posted.length, sends: fakes.wamidsIssued(), read },
    failures,
  };
  if (lostUsers + twiceUsers > 0) failures.push(`user messages: ${lostUsers} lost, ${twiceUsers} duplicated`);
  if (lostAgents + twiceAgents > 0) failures.push(`agent messages: ${lostAgents} lost, ${twiceAgents} duplicated`);
  if (twiceBot > 0) failures.push(`bot replies: ${twiceBot} sent twice`);
  if (twiceUpdates > 0) failures.push(`ticket updates: ${twiceUpdates} reached the CRM under two keys`);
  if (read < fakes.wamidsIssued()) failures.push(`statuses: ${fakes.wamidsIssued() - read} of ${fakes.wamidsIssued()} sends never reached read`);
  return tally;
}
