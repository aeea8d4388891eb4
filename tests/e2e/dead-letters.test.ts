import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { main as deadLettersCli } from '../../src/cli/dead-letters';
import { eventually, readable, sendUser, sentTo, startStack, text, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * An event the database refuses for its data (here: a constraint the test
 * adds, standing for a bug; SQLSTATE 23514 fails every time) goes to the
 * dead-letter stream at its first failure, without holding up other
 * conversations; an operator sees it (admin endpoint, metric), fixes the
 * cause and re-drives it.
 */
const ADMIN_TOKEN = 'admin-token-for-tests';
const METRICS_TOKEN = 'metrics-token-for-tests';
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack('deadletters', { STREAM_MAX_DELIVERIES: '3', ADMIN_TOKEN, METRICS_TOKEN });
});
afterAll(() => stack.stop());

const admin = async (method: 'GET' | 'POST', path: string, body?: unknown, token = ADMIN_TOKEN) => {
  const response = await fetch(`${stack.service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

test('a failing event is dead-lettered, visible to operators, and re-driven after the fix', async () => {
  await stack.sql`alter table messages add constraint blocks_a_word check (body is distinct from 'bloqueado')`;
  const blocked = '573000000501';
  const healthy = '573000000502';
  await sendUser(stack, blocked, text('bloqueado'));
  await sendUser(stack, healthy, text('Hola'));
  // Other conversations keep flowing while one entry fails.
  await eventually(() => sentTo(stack, healthy).length === 1, 'menu for the healthy user');

  const listed = await eventually(async () => {
    const { body } = await admin('GET', '/api/admin/dead-letters');
    return body.total === 1 && body;
  }, 'dead letter');
  const [entry] = listed.entries;
  expect(entry).toMatchObject({ deliveries: 1, event: { type: 'user.message', key: '57300*****01' } });
  expect(entry.error).toStartWith('permanent: ');
  expect(entry.error).toContain('blocks_a_word');
  // Drizzle's message lists the query's parameters: the phone and the text must not reach the stream or the logs.
  expect(entry.error).not.toContain(blocked);
  expect(entry.error).not.toContain('bloqueado');
  expect(sentTo(stack, blocked)).toEqual([]);

  const metrics = await fetch(`${stack.service.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(metrics.status).toBe(200);
  expect(await metrics.text()).toContain('handover_dead_letter_entries 1');
  expect((await fetch(`${stack.service.url}/metrics`)).status).toBe(401);
  expect((await admin('GET', '/api/admin/dead-letters', undefined, 'wrong')).status).toBe(401);
  expect((await admin('POST', '/api/admin/dead-letters/redrive', { ids: ['not-an-id'] })).status).toBe(400);

  await stack.sql`alter table messages drop constraint blocks_a_word`;
  const redrive = await admin('POST', '/api/admin/dead-letters/redrive', { ids: [entry.id] });
  expect(redrive).toEqual({ status: 200, body: { success: true, redriven: [entry.id], missing: [] } });
  await eventually(() => sentTo(stack, blocked).length === 1, 'the re-driven message answered');
  expect(readable(sentTo(stack, blocked)[0]!)).toContain('¿En qué te podemos ayudar?');
  expect((await admin('GET', '/api/admin/dead-letters')).body.total).toBe(0);
});

test('the command line lists and re-drives the same stream', async () => {
  const env = { REDIS_URL: stack.config.REDIS_URL, REDIS_KEY_PREFIX: stack.config.REDIS_KEY_PREFIX, STREAM_PARTITIONS: String(stack.config.STREAM_PARTITIONS) };
  const printed: string[] = [];
  const log = console.log;
  console.log = (line: string) => printed.push(line);
  try {
    expect(await deadLettersCli(['list'], env)).toBe(0);
    expect(printed.at(-1)).toBe('0 dead letters');
    expect(await deadLettersCli(['redrive', '1-1'], env)).toBe(1);
    expect(printed.at(-1)).toBe('0 re-driven; not found: 1-1');
  } finally {
    console.log = log;
  }
  expect(await deadLettersCli([], env)).toBe(2);
});
