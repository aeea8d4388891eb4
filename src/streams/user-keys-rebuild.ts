import { sql } from 'drizzle-orm';
import type Redis from 'ioredis';
import type { Database } from '../db/client';
import { idsOfRow, knownIds } from '../domain/user-ids';

const PAGE = 2000;

interface Row {
  key: string;
  user_phone: string | null;
  bsuid: string | null;
  /** As text: a Date would drop the microseconds the page boundary needs. */
  at: string;
}

/**
 * Puts back, from Postgres, the map of user ids to conversation keys that
 * lives only in Redis (user-keys.ts): without it a known user whose key is
 * not their current phone (keyed by BSUID, or by a phone they no longer
 * show) would get a new conversation. Each conversation row gives its ids
 * (`id:<phone>`, `id:<BSUID>` → key, `bsuid:<key>` → BSUID).
 *
 * Only what is missing is written (HSETNX): what Redis still holds may be
 * newer than Postgres (events resolved and queued, not yet applied: a
 * `user_id_update` moves a BSUID before its row is written). Newest rows
 * first, so a phone reassigned to another person points to the later
 * conversation, as the resolver had decided. Ids a user had before a
 * `user_id_update` are not in Postgres and are not restored.
 */
export async function rebuildUserKeys(redis: Redis, usersKey: string, database: Database): Promise<number> {
  let written = 0;
  let after: Row | null = null;
  for (;;) {
    const page: Row[] = await database.rows<Row>(
      database.db,
      sql`select conversation_key as key, user_phone, bsuid, updated_at::text as at from conversations
          ${after ? sql`where (updated_at, conversation_key) < (${after.at}::timestamptz, ${after.key})` : sql``}
          order by updated_at desc, conversation_key desc limit ${PAGE}`,
    );
    if (page.length === 0) return written;
    const pipeline = redis.pipeline();
    for (const row of page) {
      const ids = knownIds(idsOfRow({ userPhone: row.user_phone, bsuid: row.bsuid }), row.key);
      if (ids.bsuid) pipeline.hsetnx(usersKey, `id:${ids.bsuid}`, row.key).hsetnx(usersKey, `bsuid:${row.key}`, ids.bsuid);
      if (ids.phone) pipeline.hsetnx(usersKey, `id:${ids.phone}`, row.key);
    }
    for (const [error, added] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      written += Number(added);
    }
    after = page.at(-1)!;
  }
}
