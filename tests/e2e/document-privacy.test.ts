import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { json } from '../support/fakes';
import { eventually, outboxSettled, SECRETS, sendUser, sentTo, startStack, text, type TestStack } from '../support/harness';

setDefaultTimeout(30_000);

/**
 * The document number a subscriber types to authenticate, through the whole
 * service (issue 21, item 4; DESIGN 7). The directory first fails with an
 * error quoting the document, then finds the subscriber. Afterwards no log
 * line (at debug), stored row or metric shows the document: the history
 * keeps the message masked, the finished lookup call too; and an operator
 * still finds, exports and erases the subscriber by their document.
 */
let stack: TestStack;
const DOCUMENT = '7392046185';
const CUSTOMER = { customerId: 'C-7392', customerName: 'Lucía Rojas', isInactive: false };
const phone = `5734${String(process.pid % 10000).padStart(4, '0')}0201`;

/** Any 5 digits in a row of the document: a mask that shows more than its last two digits leaks it. */
const leaks = (text: string) =>
  Array.from({ length: DOCUMENT.length - 4 }, (_, start) => DOCUMENT.slice(start, start + 5)).filter((part) => text.includes(part));

const admin = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
  const response = await fetch(`${stack.service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${SECRETS.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

beforeAll(async () => {
  stack = await startStack('document_privacy', { LOG_LEVEL: 'debug' });
  let asked = 0;
  stack.directory.respond((request) => {
    if (request.query.get('document') !== DOCUMENT) return undefined;
    // The directory's first answer is an error that quotes the document, as some do.
    return ++asked === 1 ? json({ error: `documento ${DOCUMENT} (7.392.046.185): servicio no disponible` }, 500) : json(CUSTOMER);
  });
  await sendUser(stack, phone, text('Hola'));
  await eventually(() => sentTo(stack, phone).length >= 1, 'menu');
  await sendUser(stack, phone, text('soporte'));
  await eventually(() => sentTo(stack, phone).length >= 2, 'document question');
  await sendUser(stack, phone, text('7.392.046.185'));
  await eventually(() => stack.crm.to('/api/bot/agent-request').find((r) => (r.body as { userPhone?: string }).userPhone === phone), 'agent-request');
  // The CRM's answer to the agent request is applied after its call is done, and sends the wait message: the
  // exports compared below must both see it sent.
  await eventually(async () => {
    const [row] =
      await stack.sql`select count(*)::int as waiting from messages where conversation_key = ${phone} and body like 'Un agente%' and status = 'sent'`;
    return row!.waiting === 1;
  }, 'the wait message sent');
  await outboxSettled(stack);
  expect(stack.directory.requests.filter((request) => request.query.get('document') === DOCUMENT)).toHaveLength(2);
});
afterAll(() => stack?.stop());

describe('a document typed to authenticate', () => {
  test('is in no log line, at any level, even where the directory quoted it', () => {
    const logged = stack.logs.map((line) => JSON.stringify(line)).join('\n');
    expect(logged).toContain('outbox delivery failed; will retry');
    expect(logged).toContain('********85');
    expect(leaks(logged)).toEqual([]);
  });

  test('is kept masked in the history and in the finished lookup call, and in no metric', async () => {
    const [typed] = await stack.sql`select body from messages where conversation_key = ${phone} and direction = 'inbound' and body like '%85'`;
    expect(typed!.body).toBe('********85');
    const calls = await stack.sql`select status, payload, last_error from outbox where kind = 'customer.lookup'`;
    expect(calls.map((row) => [row.status, row.payload.document])).toEqual([['done', '********85']]);
    for (const table of ['messages', 'outbox', 'conversations', 'tickets', 'ticket_events']) {
      const [row] = await stack.sql.unsafe(`select count(*)::int as n from "${table}" t where t::text like '%' || $1 || '%'`, [DOCUMENT]);
      expect({ table, holding: row!.n }).toEqual({ table, holding: 0 });
    }
    const metrics = await (await fetch(`${stack.service.url}/metrics`)).text();
    expect(metrics).toContain('handover_outbox_deliveries_total');
    // Names and labels only: a sample's value (a byte count, seconds of CPU) may hold any five digits by chance.
    const namesAndLabels = metrics.split('\n').map((line) => (line.startsWith('#') ? line : line.replace(/ \S+( \d+)?$/, '')));
    expect(leaks(namesAndLabels.join('\n'))).toEqual([]);
  });

  test('still finds the subscriber for an operator: the export by document (asked of the directory) is the export by phone; the erasure by document erases them', async () => {
    const byDocument = await admin('GET', `/api/admin/subscribers?document=${DOCUMENT}`);
    const byPhone = await admin('GET', `/api/admin/subscribers?phone=${phone}`);
    expect(byDocument.status).toBe(200);
    expect(byDocument.body).toMatchObject({ found: true, ids: { phones: [phone], customerIds: [CUSTOMER.customerId] } });
    expect({ ...byDocument.body, exportedAt: undefined }).toEqual({ ...byPhone.body, exportedAt: undefined });
    expect(leaks(JSON.stringify(byDocument.body))).toEqual([]);

    const erased = await admin('POST', '/api/admin/subscribers/erase', { document: DOCUMENT });

    expect(erased.body).toMatchObject({ success: true, found: true, erased: { conversations: 1, tickets: 1 } });
    expect((await admin('GET', `/api/admin/subscribers?phone=${phone}`)).body).toMatchObject({ found: false });
  });

  test('a directory that cannot answer makes a request by document fail clearly, not come back empty', async () => {
    const restore = stack.directory.respond((request) => (request.query.get('document') === '5550001112' ? json({ error: 'down' }, 503) : undefined));
    try {
      const { status, body } = await admin('GET', '/api/admin/subscribers?document=5550001112');
      expect(status).toBe(503);
      expect(body).toMatchObject({ success: false, error: 'directory_unavailable' });
    } finally {
      restore();
    }
  });
});
