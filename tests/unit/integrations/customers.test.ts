import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { openDatabase, type Database } from '../../../src/db/client';
import { customers } from '../../../src/db/schema';
import { createCustomerDirectory } from '../../../src/integrations/customers';
import { json, startFakeDirectory, type FakeServer } from '../../support/fakes';
import { createTestDatabase, DIRECTORY } from '../../support/harness';

let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;
let directory: FakeServer;
const PHONE = '573001112233';

beforeAll(async () => {
  testDatabase = await createTestDatabase('integrations_customers');
  database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '' });
  await database.db.insert(customers).values({ customerId: 'C-300', document: '3030303030', customerName: 'Luz Díaz', isInactive: true });
  directory = startFakeDirectory(DIRECTORY);
});
afterEach(() => directory.respond(null));
afterAll(async () => {
  await directory.stop();
  await database.close();
  await testDatabase.drop();
});

const overHttp = () => createCustomerDirectory({ url: `${directory.url}/customers`, token: 'directory-token', timeoutMs: 1000 }, database.db);
const embedded = () => createCustomerDirectory({ url: '', token: '', timeoutMs: 1000 }, database.db);

describe('the ISP’s directory over HTTP', () => {
  test('is asked by document and phone with its token, and a known subscriber is found', async () => {
    const outcome = await overHttp().lookup('1010101010', PHONE);
    expect(outcome).toEqual({
      ok: true,
      result: { document: '1010101010', outcome: 'found', customer: { customerId: 'C-100', customerName: 'Juan Pérez', isInactive: true } },
    });
    const [request] = directory.requests.slice(-1);
    expect(request!.query.get('document')).toBe('1010101010');
    expect(request!.query.get('phone')).toBe(PHONE);
    expect(request!.headers.get('authorization')).toBe('Bearer directory-token');
  });

  test('a user who hides their phone is looked up by document alone: no phone parameter', async () => {
    const outcome = await overHttp().lookup('2020202020');
    expect(outcome).toMatchObject({ ok: true, result: { outcome: 'found', customer: { customerId: 'C-200' } } });
    const [request] = directory.requests.slice(-1);
    expect(request!.query.get('document')).toBe('2020202020');
    expect(request!.query.has('phone')).toBe(false);
  });

  test('a 404 means not found, which is an answer and not a failure', async () => {
    expect(await overHttp().lookup('9999999999', PHONE)).toEqual({ ok: true, result: { document: '9999999999', outcome: 'not_found' } });
  });

  test('a numeric customer id is read as a string', async () => {
    directory.respond(() => json({ customerId: 42, customerName: 'Ana', isInactive: false }));
    expect(await overHttp().lookup('2020202020', PHONE)).toMatchObject({ ok: true, result: { customer: { customerId: '42' } } });
  });

  test('a 200 without the subscriber’s id and name is a permanent failure', async () => {
    directory.respond(() => json({ name: 'Ana' }));
    expect(await overHttp().lookup('2020202020', PHONE)).toMatchObject({ ok: false, retryable: false });
  });

  test('a directory that is down is a retryable failure', async () => {
    directory.respond(() => json({ error: 'down' }, 503));
    expect(await overHttp().lookup('2020202020', PHONE)).toMatchObject({ ok: false, retryable: true });
  });
});

describe('the embedded customers table', () => {
  test('finds an imported subscriber by document', async () => {
    expect(await embedded().lookup('3030303030', PHONE)).toEqual({
      ok: true,
      result: { document: '3030303030', outcome: 'found', customer: { customerId: 'C-300', customerName: 'Luz Díaz', isInactive: true } },
    });
  });

  test('matches on the document alone, with or without a phone', async () => {
    expect(await embedded().lookup('3030303030')).toMatchObject({ ok: true, result: { outcome: 'found', customer: { customerId: 'C-300' } } });
  });

  test('an unknown document is not found', async () => {
    expect(await embedded().lookup('4040404040', PHONE)).toEqual({ ok: true, result: { document: '4040404040', outcome: 'not_found' } });
  });
});
