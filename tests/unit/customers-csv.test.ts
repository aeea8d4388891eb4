import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { parseCustomersCsv, upsertCustomers } from '../../src/cli/customers';
import { openDatabase, type Database } from '../../src/db/client';
import { customers } from '../../src/db/schema';
import { createTestDatabase } from '../support/harness';

describe('customer CSV import', () => {
  let database: Database;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const created = await createTestDatabase('csv');
    drop = created.drop;
    database = await openDatabase({ databaseUrl: created.url, dataDir: '' });
  });
  afterAll(async () => {
    await database.close();
    await drop();
  });

  test('reads the rows, normalises documents and phones, and reads suspension words', () => {
    const { rows, problems } = parseCustomersCsv(
      'customer_id,document,customer_name,phone,is_inactive\nC1,"1.234.567",Ana,+57 300 111 2233,si\nC2,7654321,Luis,,false\n',
    );
    expect(problems).toEqual([]);
    expect(rows).toEqual([
      { customerId: 'C1', document: '1234567', customerName: 'Ana', phone: '573001112233', isInactive: true },
      { customerId: 'C2', document: '7654321', customerName: 'Luis', phone: null, isInactive: false },
    ]);
  });

  test('reports every bad row with its line number', () => {
    const { problems } = parseCustomersCsv('customer_id,document,customer_name\n,123456,A\nC2,12ab,B\nC3,1234567,\n');
    expect(problems).toEqual(['line 2: customer_id is empty', 'line 3: document must be 5 to 15 digits', 'line 4: customer_name is empty']);
  });

  test('an import upserts by customer id', async () => {
    await upsertCustomers(database.db, [{ customerId: 'C9', document: '99999', customerName: 'Old', isInactive: false }]);
    await upsertCustomers(database.db, [{ customerId: 'C9', document: '99999', customerName: 'New', isInactive: true }]);
    const rows = await database.db.select().from(customers).where(eq(customers.customerId, 'C9'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ customerName: 'New', isInactive: true });
  });
});
