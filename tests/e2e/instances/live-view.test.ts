import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { partitionOf } from '../../../src/streams/codec';
import { crmCall, eventually, openTicketFor, type TestStack } from '../../support/harness';
import { readSse } from '../../support/sse';
import { PARTITIONS, startFleet, type Fleet, type Instance } from './fleet';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts).
setDefaultTimeout(30_000);

/**
 * The live view with two instances: a supervisor connected to one instance sees what the other one commits (the
 * change signal through Redis pub/sub), with no page refresh.
 */
const METRICS_TOKEN = 'live-view-metrics-token';
let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet('live', { env: { METRICS_TOKEN } });
}, 30_000);
afterAll(() => fleet?.close(), 30_000);

const on = (instance: Instance) => ({ service: { url: instance.url } }) as unknown as TestStack;
type Board = { waiting: { ticketId: string }[]; withAgent: { ticketId: string; agent: { name: string } }[] };

test('a supervisor on one instance sees a new waiting ticket and its agent as the other instance commits them', async () => {
  const all = ['live-a', 'live-b'].map((name) => fleet.start(name));
  await Promise.all(all.map((instance) => fleet.ready(instance)));
  const owners = await eventually(async () => {
    const split = await fleet.exclusivelyOwned();
    return split && new Set(split.values()).size === 2 && split;
  }, 'the partitions split between the two instances');
  // A user whose partition live-a owns: live-a applies every event of the ticket; the supervisor watches live-b.
  let n = 0;
  while (owners.get(partitionOf(`57312${String(n).padStart(7, '0')}`, PARTITIONS)) !== 'live-a') n++;
  const phone = `57312${String(n).padStart(7, '0')}`;
  const [owner, watched] = [all.find((instance) => instance.name === 'live-a')!, all.find((instance) => instance.name === 'live-b')!];

  const abort = new AbortController();
  const response = await fetch(`${watched.url}/api/live`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` }, signal: abort.signal });
  expect(response.status).toBe(200);
  const events = readSse(response, abort);
  try {
    await events.next();
    const ticketId = await openTicketFor(fleet.stack, phone, '2020202020');
    await events.next<Board>((board) => board.waiting.some((ticket) => ticket.ticketId === ticketId));

    const taken = await crmCall(on(owner), 'POST', '/api/crm/handover', {
      ticketId,
      userPhone: phone,
      agentId: 'agent_9',
      agentName: 'Lucía',
      handoverType: 'bot_to_human',
    });
    expect(taken.status).toBe(200);
    const board = await events.next<Board>((next) => next.withAgent.some((ticket) => ticket.ticketId === ticketId));
    expect(board.withAgent.find((ticket) => ticket.ticketId === ticketId)!.agent.name).toBe('Lucía');
    expect(board.waiting.some((ticket) => ticket.ticketId === ticketId)).toBe(false);
    expect(events.raw).not.toContain(phone);
  } finally {
    await events.close();
  }
});
