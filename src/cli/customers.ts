import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../config';
import { runCommand } from './run';
import { openDatabase, type Db } from '../db/client';
import { customers, type NewCustomer } from '../db/schema';

/** Demo subscribers for a fresh install: one suspended (reactivation), one active (general support). */
export const DEMO_CUSTOMERS: NewCustomer[] = [
  { customerId: '12345', document: '1010101010', customerName: 'Juan Pérez', phone: '573001234567', isInactive: true },
  { customerId: '12346', document: '2020202020', customerName: 'Ana Gómez', phone: '573007654321', isInactive: false },
];

const TRUE_WORDS = new Set(['true', '1', 'yes', 'si', 'sí', 'suspendido', 'inactive']);

/**
 * Reads a CSV with a header row: customer_id, document, customer_name,
 * phone (optional), is_inactive (true/false, 1/0, si/no). Every bad row is
 * reported with its line number; nothing is written if any row is bad.
 */
export function parseCustomersCsv(content: string): { rows: NewCustomer[]; problems: string[] } {
  const records = parse(content, {
    columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
    skip_empty_lines: true,
    trim: true,
    bom: true,
  }) as Record<string, string>[];
  const rows: NewCustomer[] = [];
  const problems: string[] = [];
  records.forEach((record, index) => {
    const line = index + 2;
    const document = (record.document ?? '').replace(/[.\s-]/g, '');
    if (!record.customer_id) problems.push(`line ${line}: customer_id is empty`);
    else if (!/^\d{5,15}$/.test(document)) problems.push(`line ${line}: document must be 5 to 15 digits`);
    else if (!record.customer_name) problems.push(`line ${line}: customer_name is empty`);
    else
      rows.push({
        customerId: record.customer_id,
        document,
        customerName: record.customer_name,
        phone: record.phone ? record.phone.replace(/\D/g, '') : null,
        isInactive: TRUE_WORDS.has((record.is_inactive ?? '').toLowerCase()),
      });
  });
  return { rows, problems };
}

export async function upsertCustomers(db: Db, rows: NewCustomer[]): Promise<number> {
  for (let start = 0; start < rows.length; start += 1000) {
    await db
      .insert(customers)
      .values(rows.slice(start, start + 1000))
      .onConflictDoUpdate({
        target: customers.customerId,
        set: {
          document: sql`excluded.document`,
          customerName: sql`excluded.customer_name`,
          phone: sql`excluded.phone`,
          isInactive: sql`excluded.is_inactive`,
          updatedAt: sql`now()`,
        },
      });
  }
  return rows.length;
}

async function main(args: string[]): Promise<number> {
  const [command, file] = args;
  if (command !== 'seed-demo' && !(command === 'import' && file)) {
    console.error('usage: bun run customers:seed | bun run customers:import <file.csv>');
    return 2;
  }
  let rows = DEMO_CUSTOMERS;
  if (command === 'import') {
    const parsed = parseCustomersCsv(readFileSync(file!, 'utf8'));
    if (parsed.problems.length > 0) {
      for (const problem of parsed.problems) console.error(`${file}: ${problem}`);
      console.error('nothing imported');
      return 1;
    }
    rows = parsed.rows;
  }
  const config = loadConfig(process.env);
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
  try {
    const count = await upsertCustomers(database.db, rows);
    console.log(`${count} customers written to ${database.kind === 'pglite' ? `embedded database in ${config.DATA_DIR}` : 'DATABASE_URL'}`);
    return 0;
  } finally {
    await database.close();
  }
}

if (import.meta.main) await runCommand(main);
