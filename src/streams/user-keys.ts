import type Redis from 'ioredis';
import type { PipelineEvent } from '../domain/events';
import type { UserIds } from '../domain/user-ids';
import { businessNumbers, conversationKeyOf, type BusinessNumbers } from '../domain/business-numbers';

/**
 * One conversation key per person, decided before XADD so that the
 * partition never changes when a webhook adds or drops the phone, or after
 * a `user_id_update`. A Redis hash maps every id seen (`id:<phone>`,
 * `id:<BSUID>`) to the key, and each key to the BSUID it last had
 * (`bsuid:<key>`). One script, so two webhooks of one person resolve one
 * after the other.
 *
 * - an id already mapped wins (the previous BSUID of a change first, then the BSUID, then the phone);
 * - a phone mapped to a key that already has another BSUID was given up and
 *   reassigned to someone else (BSUIDs change with the number): not the same person;
 * - nothing mapped: the phone, else the BSUID, becomes the key (a conversation
 *   from before 2026 is keyed by the phone, so it is found again); a reassigned
 *   phone may be its former owner's key, so its new owner is keyed by BSUID;
 * - every id of the event is then mapped to the key (a change moves the new BSUID onto it).
 */
const RESOLVE = `
local users, previous, bsuid, phone = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local key, taken = false, false
if previous ~= '' then key = redis.call('HGET', users, 'id:' .. previous) end
if not key and bsuid ~= '' then key = redis.call('HGET', users, 'id:' .. bsuid) end
if not key and phone ~= '' then
  local candidate = redis.call('HGET', users, 'id:' .. phone)
  local owner = candidate and redis.call('HGET', users, 'bsuid:' .. candidate)
  if candidate and (bsuid == '' or not owner or owner == bsuid or owner == previous) then key = candidate else taken = candidate end
end
if not key then key = (phone ~= '' and not taken and phone) or (bsuid ~= '' and bsuid) or previous end
if bsuid ~= '' then redis.call('HSET', users, 'id:' .. bsuid, key, 'bsuid:' .. key, bsuid) end
if phone ~= '' then redis.call('HSET', users, 'id:' .. phone, key) end
return key
`;

interface IdsToResolve {
  previous?: string;
  ids: UserIds;
}

/** The business number a webhook event is for: the user's key is scoped to it (domain/business-numbers.ts). */
function numberOf(event: PipelineEvent): string | undefined {
  return 'businessPhoneNumberId' in event.data ? event.data.businessPhoneNumberId : undefined;
}

/** The ids an event names its user by; events from the CRM and the timers carry a key resolved already. */
function idsOf(event: PipelineEvent): IdsToResolve | undefined {
  switch (event.type) {
    case 'user.message':
    case 'whatsapp.status':
    case 'whatsapp.echo':
    case 'whatsapp.history':
    case 'whatsapp.call':
      return { ids: event.data.user };
    case 'meta.thread_control':
      // On /webhook a handover names its user; from the CRM's path it carries a key resolved already.
      return event.data.user ? { ids: event.data.user } : undefined;
    case 'user.id_changed':
      return { previous: event.data.previousBsuid, ids: { bsuid: event.data.bsuid, phone: event.data.phone } };
    default:
      return undefined;
  }
}

/** The script as a command of its own: ioredis sends its SHA (EVALSHA) and the body only when Redis lacks it. */
type WithResolve = { resolveUserKey(usersKey: string, previous: string, bsuid: string, phone: string): unknown };

/** Most resolutions remembered; past it the memory starts over (a hit only saves a round trip). */
const CACHE_LIMIT = 100_000;
/** A phone's key moves when the number is reassigned, perhaps through another instance: a phone-only answer is trusted this long. */
const PHONE_ONLY_TTL_MS = 60_000;

/**
 * What a resolution may be remembered by. A BSUID, once mapped, keeps its
 * key for good (a change maps the new BSUID onto the same key), so an event
 * naming one resolves as before: the script would only rewrite what it wrote.
 * A phone alone is mapped anew when the number is reassigned: remembered for
 * a while only. A change is never remembered: it moves ids.
 */
function cacheKey(item: IdsToResolve): { key: string; ttlMs: number } | undefined {
  if (item.previous) return undefined;
  if (item.ids.bsuid) return { key: `b\u0000${item.ids.bsuid}\u0000${item.ids.phone ?? ''}`, ttlMs: Infinity };
  if (item.ids.phone) return { key: `p\u0000${item.ids.phone}`, ttlMs: PHONE_ONLY_TTL_MS };
  return undefined;
}

/**
 * `numbers`: the person's key is one for all the business's numbers (BSUIDs are scoped to the business), and
 * each number they write to is a conversation of its own, keyed by `conversationKeyOf`.
 */
export function createUserKeys(redis: Redis, usersKey: string, numbers: BusinessNumbers = businessNumbers('')) {
  if (!('resolveUserKey' in redis)) redis.defineCommand('resolveUserKey', { numberOfKeys: 1, lua: RESOLVE });
  /** Resolutions this process made (the webhook's hot path skips the script for ids it has seen). */
  const remembered = new Map<string, { key: string; until: number }>();
  const remember = (item: IdsToResolve, key: string, now: number) => {
    if (remembered.size >= CACHE_LIMIT) remembered.clear();
    const entry = cacheKey(item);
    if (entry) remembered.set(entry.key, { key, until: now + entry.ttlMs });
    // The script has just mapped the phone to this key: a phone-only event now resolves to it.
    if (item.ids.phone && item.ids.bsuid) remembered.set(`p\u0000${item.ids.phone}`, { key, until: now + PHONE_ONLY_TTL_MS });
  };
  const recall = (item: IdsToResolve, now: number): string | undefined => {
    const entry = cacheKey(item);
    const hit = entry && remembered.get(entry.key);
    return hit && hit.until > now ? hit.key : undefined;
  };

  return {
    /** The events with their conversation key (the user's key, scoped to the number written to) in place of the id the parser found first. */
    async resolve(events: PipelineEvent[]): Promise<PipelineEvent[]> {
      const now = performance.now();
      const pending = events.map(idsOf);
      const keys = pending.map((item) => item && recall(item, now));
      const unresolved = pending.flatMap((item, index) => (item && keys[index] === undefined ? [index] : []));
      if (unresolved.length > 0) {
        const pipeline = redis.pipeline();
        const resolving = pipeline as unknown as WithResolve;
        for (const index of unresolved) {
          const item = pending[index]!;
          resolving.resolveUserKey(usersKey, item.previous ?? '', item.ids.bsuid ?? '', item.ids.phone ?? '');
        }
        const results = (await pipeline.exec()) ?? [];
        unresolved.forEach((index, position) => {
          const [error, key] = results[position] ?? [new Error('no reply')];
          if (error) throw error;
          keys[index] = String(key);
          remember(pending[index]!, keys[index], now);
        });
      }
      return events.map((event, index) => {
        const userKey = keys[index];
        return userKey === undefined ? event : ({ ...event, key: conversationKeyOf(numbers, userKey, numberOf(event)) } as PipelineEvent);
      });
    },
  };
}

export type UserKeys = ReturnType<typeof createUserKeys>;
