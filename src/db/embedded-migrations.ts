import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import journal from './migrations/meta/_journal.json';
import sql0000 from './migrations/0000_init.sql' with { type: 'text' };
import sql0001 from './migrations/0001_lifecycle_deadlines.sql' with { type: 'text' };
import sql0002 from './migrations/0002_outbox_in_doubt.sql' with { type: 'text' };
import sql0003 from './migrations/0003_ticket_kpis.sql' with { type: 'text' };
import sql0004 from './migrations/0004_timer_redelivery.sql' with { type: 'text' };
import sql0005 from './migrations/0005_drop_conversation_revision.sql' with { type: 'text' };
import sql0006 from './migrations/0006_outbox_author.sql' with { type: 'text' };
import sql0007 from './migrations/0007_user_identities.sql' with { type: 'text' };
import sql0008 from './migrations/0008_partition_leases.sql' with { type: 'text' };
import sql0009 from './migrations/0009_message_details.sql' with { type: 'text' };
import sql0010 from './migrations/0010_partition_watermark.sql' with { type: 'text' };
import sql0011 from './migrations/0011_conversation_key.sql' with { type: 'text' };
import sql0012 from './migrations/0012_data_lifecycle.sql' with { type: 'text' };
import sql0013 from './migrations/0013_agent_presence.sql' with { type: 'text' };
import sql0014 from './migrations/0014_numbers_pricing_routing.sql' with { type: 'text' };
import sql0015 from './migrations/0015_live_view.sql' with { type: 'text' };
import sql0016 from './migrations/0016_outbox_traceparent.sql' with { type: 'text' };
import sql0017 from './migrations/0017_kpi_rollups.sql' with { type: 'text' };
import sql0018 from './migrations/0018_outbox_hot_claims.sql' with { type: 'text' };
import sql0019 from './migrations/0019_privacy_notice.sql' with { type: 'text' };
import sql0020 from './migrations/0020_hot_table_vacuum.sql' with { type: 'text' };
import sql0021 from './migrations/0021_outbox_one_open_index.sql' with { type: 'text' };

/**
 * The committed migrations (drizzle-kit's output in ./migrations), imported as text so that `bun run build`
 * puts them inside the executable: the binary carries its schema and needs no source tree beside it.
 * drizzle-kit generate adds a file and a journal entry; add its import and line here too (the start says so
 * when one is missing).
 */
const SQL_BY_TAG: Record<string, string> = {
  '0000_init': sql0000,
  '0001_lifecycle_deadlines': sql0001,
  '0002_outbox_in_doubt': sql0002,
  '0003_ticket_kpis': sql0003,
  '0004_timer_redelivery': sql0004,
  '0005_drop_conversation_revision': sql0005,
  '0006_outbox_author': sql0006,
  '0007_user_identities': sql0007,
  '0008_partition_leases': sql0008,
  '0009_message_details': sql0009,
  '0010_partition_watermark': sql0010,
  '0011_conversation_key': sql0011,
  '0012_data_lifecycle': sql0012,
  '0013_agent_presence': sql0013,
  '0014_numbers_pricing_routing': sql0014,
  '0015_live_view': sql0015,
  '0016_outbox_traceparent': sql0016,
  '0017_kpi_rollups': sql0017,
  '0018_outbox_hot_claims': sql0018,
  '0019_privacy_notice': sql0019,
  '0020_hot_table_vacuum': sql0020,
  '0021_outbox_one_open_index': sql0021,
};

/**
 * Runs `migrate` on a migrations folder as drizzle's migrator reads it (meta/_journal.json and one .sql per
 * tag), written from the embedded copies into a temporary directory and removed afterwards: drizzle reads
 * migrations only from a folder, and inside the executable there is none.
 */
export async function withMigrationsFolder<T>(migrate: (folder: string) => Promise<T>): Promise<T> {
  const missing = journal.entries.filter((entry) => SQL_BY_TAG[entry.tag] === undefined).map((entry) => entry.tag);
  if (missing.length > 0) throw new Error(`migrations in meta/_journal.json but not in src/db/embedded-migrations.ts: ${missing.join(', ')}`);
  const folder = mkdtempSync(join(tmpdir(), 'handover-migrations-'));
  try {
    mkdirSync(join(folder, 'meta'));
    writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify(journal));
    for (const entry of journal.entries) writeFileSync(join(folder, `${entry.tag}.sql`), SQL_BY_TAG[entry.tag]!);
    return await migrate(folder);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
