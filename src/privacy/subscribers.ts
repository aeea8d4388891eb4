import type Redis from 'ioredis';
import type { Database } from '../db/client';
import { createSubscriberStore, type ErasedRows, type SubscriberIds } from '../db/subscriber-store';
import { splitBsuid } from '../domain/user-ids';
import { badRequest, unavailable } from '../errors';
import type { CustomerDirectory } from '../integrations/customers';
import type { Logger } from '../logger';
import type { StreamKeys } from '../streams/codec';
import { deleteSubscriberEntries } from '../streams/subscriber-entries';
import { forgetUserKeys, idsMappedTo } from '../streams/user-keys-forget';
import { exportOf, type SubscriberExport } from './export';

export type { SubscriberIds };

export interface SubscriberRightsDeps {
  database: Database;
  redis: Redis;
  keys: StreamKeys;
  partitions: number;
  /**
   * The ISP's directory, when it is a service of its own (CUSTOMER_LOOKUP_URL): the customer a document names. This
   * service keeps the documents users type only masked, so with an external directory a request by document finds
   * the subscriber through it (the tickets and conversations name the customer id).
   */
  directory?: Pick<CustomerDirectory, 'lookup'>;
  /** Removes a media file the service kept (DATA_DIR/media): the media cache's `forget`. */
  forgetMedia(mediaId: string): Promise<void>;
  logger: Logger;
  now?: () => Date;
}

/** What an erasure did, per store: counts only. */
export interface Erasure {
  found: boolean;
  /** The privacy_requests row that records it. */
  requestId: number;
  erased: ErasedRows & { mediaFiles: number; redisIds: number; streamEntries: number };
  /** The tickets the CRM is told of (POST CRM_BASE_URL/api/bot/subscriber-erased), queued in the outbox; empty: it never heard of them. */
  crmNotifiedOf: string[];
}

const IDENTIFIERS = ['phone', 'userId', 'username', 'document'] as const;

/** The ids as given, trimmed; a phone's spaces, dashes and `+` dropped (the keys are Meta's digits). At least one, or 400. */
export function subscriberIds(raw: Partial<Record<keyof SubscriberIds, unknown>>): SubscriberIds {
  const ids: SubscriberIds = {};
  for (const name of IDENTIFIERS) {
    const value = typeof raw[name] === 'string' ? (raw[name] as string).trim() : '';
    if (value === '') continue;
    ids[name] = name === 'phone' ? value.replace(/[\s\-+().]/g, '') : value;
  }
  if (Object.keys(ids).length === 0) throw badRequest('missing_identifier', 'name the subscriber by phone, userId (BSUID), username or document');
  if (ids.phone !== undefined && !/^\d{5,20}$/.test(ids.phone))
    throw badRequest('invalid_phone', 'phone must be 5 to 20 digits (a leading + and spaces are allowed)');
  return ids;
}

/**
 * A subscriber's rights (DESIGN 7, Ley 1581): what is held about them
 * (export), and its erasure. The admin routes and `bun run subscribers` both
 * come here. Each request is recorded (privacy_requests) with who asked, when
 * and what was found or done, as counts: never an id or anything found.
 */
export function createSubscriberRights(deps: SubscriberRightsDeps) {
  const store = createSubscriberStore(deps.database);
  const now = deps.now ?? (() => new Date());
  const identifiers = (ids: SubscriberIds) => IDENTIFIERS.filter((name) => ids[name] !== undefined);

  /** The customer the directory knows by this document (none: not a customer); a directory that cannot answer fails the request. */
  async function customerOfDocument(document: string): Promise<string[]> {
    if (!deps.directory) return [];
    const outcome = await deps.directory.lookup(document);
    if (!outcome.ok) {
      throw unavailable('directory_unavailable', 'the customer directory did not answer for this document: retry, or name the subscriber by phone or userId');
    }
    return outcome.result.outcome === 'found' && outcome.result.customer ? [outcome.result.customer.customerId] : [];
  }

  /** Their conversations (also through the Redis id map: a phone or BSUID they had before), directory rows, and every id the map holds for them. */
  async function locate(ids: SubscriberIds) {
    const named = [ids.phone, ids.userId].filter((id): id is string => id !== undefined);
    const mapped = named.length === 0 ? [] : await deps.redis.hmget(deps.keys.users, ...named.map((id) => `id:${id}`));
    const location = await store.locate(
      ids,
      mapped.filter((key): key is string => key !== null),
      ids.document ? await customerOfDocument(ids.document) : [],
    );
    const mappedIds = location.keys.length === 0 ? [] : await idsMappedTo(deps.redis, deps.keys.users, location.keys);
    return { location, mappedIds };
  }

  return {
    async export(ids: SubscriberIds, requestedBy: string): Promise<SubscriberExport> {
      const { location, mappedIds } = await locate(ids);
      const data = await store.read(location);
      const exported = exportOf(data, mappedIds, now());
      await store.record(
        {
          kind: 'export',
          requestedBy,
          identifiers: identifiers(ids),
          outcome: { found: exported.found, conversations: data.conversations.length, tickets: data.tickets.length, messages: data.messages.length },
        },
        now(),
      );
      return exported;
    },

    /**
     * Streams first (nothing of theirs is applied again after the rows go), then every row in one transaction
     * (with the record and the CRM's notice), then the media files and their ids in Redis. An event of theirs that a
     * worker holds at that moment may still write after it: a second erasure removes what it wrote.
     */
    async erase(ids: SubscriberIds, requestedBy: string): Promise<Erasure> {
      const { location, mappedIds } = await locate(ids);
      const found = location.keys.length > 0 || location.customerIds.length > 0;
      const { conversations } = await store.read({ keys: location.keys, customerIds: [] });
      const streamEntries = await deleteSubscriberEntries(deps.redis, deps.keys, deps.partitions, location.keys);
      const bsuids = [...new Set([ids.userId, ...conversations.map((row) => row.bsuid), ...mappedIds.filter((id) => splitBsuid(id))])].filter(
        (id): id is string => !!id,
      );
      const at = now();
      const { erased, requestId, ticketIds, mediaIds } = await store.erase(
        location,
        bsuids,
        { requestedBy, identifiers: identifiers(ids), outcome: { found, streamEntries } },
        at,
      );
      let mediaFiles = 0;
      for (const mediaId of mediaIds) {
        await deps.forgetMedia(mediaId);
        mediaFiles++;
      }
      const userIds = [ids.phone, ...mappedIds, ...conversations.flatMap((row) => [row.userPhone, row.bsuid])];
      const redisIds = await forgetUserKeys(
        deps.redis,
        deps.keys.users,
        location.keys.map((conversationKey) => ({ conversationKey, ids: userIds })),
      );
      await store.completeRecord(requestId, { mediaFiles, redisIds });
      const erasure = { found, requestId, erased: { ...erased, mediaFiles, redisIds, streamEntries }, crmNotifiedOf: ticketIds };
      deps.logger.info(
        { event: 'privacy.erased', requestId, requestedBy, identifiers: identifiers(ids), erased: erasure.erased, crmNotified: ticketIds.length },
        found ? "a subscriber's data was erased at their request" : 'erasure requested: nothing held under those identifiers',
      );
      return erasure;
    },
  };
}

export type SubscriberRights = ReturnType<typeof createSubscriberRights>;
