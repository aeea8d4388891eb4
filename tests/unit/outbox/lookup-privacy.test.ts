import { describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { createCustomerDirectory } from '../../../src/integrations/customers';
import { createLogger } from '../../../src/logger';
import { json } from '../../support/fakes';
import { dispatcher, events, fixture, lookup, rowOf, settle, useDispatcherFixture } from './dispatcher-fixture';

useDispatcherFixture('lookup_privacy');

/**
 * The document number a user types is personal data (DESIGN 7, issue 21 item 4): the lookup call carries it to the
 * directory and its result back to the conversation, and nothing else keeps it: not the finished outbox row, not
 * the error stored with a failed attempt, not a log line.
 */
const DOCUMENT = '7392046185';

/** Any 5 digits in a row of the document: a mask that shows more than its last two digits leaks it. */
const leaks = (text: string) =>
  Array.from({ length: DOCUMENT.length - 4 }, (_, start) => DOCUMENT.slice(start, start + 5)).filter((part) => text.includes(part));

function capturedLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger('debug', { write: (line: string) => void lines.push(line) }) };
}

describe('a lookup call', () => {
  test('once made, its row keeps the document masked; the result still names it for the conversation', async () => {
    const row = await lookup('1010101010');
    await settle(dispatcher());

    expect(await rowOf(row)).toMatchObject({ status: 'done', payload: { phone: expect.any(String), document: '********10' } });
    expect((await events())[0]!.data).toMatchObject({ document: '1010101010', outcome: 'found' });
  });

  test('failed for good, its row keeps the document masked too', async () => {
    fixture.directory.respond(() => json({ error: 'down' }, 503));
    const row = await lookup('1010101010');
    await settle(dispatcher({ maxAttempts: 1 }));

    expect(await rowOf(row)).toMatchObject({ status: 'failed', payload: { document: '********10' } });
  });

  test('a directory that echoes the document in its error: the log line and the stored error show it masked', async () => {
    fixture.directory.respond(() => json({ error: `documento ${DOCUMENT} (7.392.046.185) con formato inválido` }, 500));
    const { lines, logger } = capturedLogger();
    const row = await lookup(DOCUMENT);

    await dispatcher({ logger }).drainOnce();

    const stored = await rowOf(row);
    expect(stored.lastError).toContain('documento ********85 (********85)');
    expect(leaks(stored.lastError ?? '')).toEqual([]);
    expect(lines.join('\n')).toContain('outbox delivery failed; will retry');
    expect(leaks(lines.join('\n'))).toEqual([]);
  });

  test("the embedded directory's database error: logged and stored without the query's parameters", async () => {
    const { database } = fixture;
    const { lines, logger } = capturedLogger();
    const row = await lookup(DOCUMENT);
    await database.db.execute(sql`alter table customers rename to customers_away`);
    try {
      await dispatcher({ logger, customers: createCustomerDirectory({ url: '', token: '', timeoutMs: 300 }, database.db) }).drainOnce();
    } finally {
      await database.db.execute(sql`alter table customers_away rename to customers`);
    }

    const stored = await rowOf(row);
    // Fields one by one: Bun's toMatchObject writes an asymmetric matcher into the object it checks.
    expect(stored.status).toBe('pending');
    expect(stored.lastError).toContain('relation "customers" does not exist');
    expect(leaks(stored.lastError ?? '')).toEqual([]);
    expect(lines.join('\n')).toContain('outbox delivery failed; will retry');
    expect(leaks(lines.join('\n'))).toEqual([]);
  });
});
