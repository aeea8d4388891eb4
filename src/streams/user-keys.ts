import type Redis from 'ioredis';
import type { PipelineEvent } from '../events';
import type { UserIds } from '../user-ids';

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

/** The ids an event names its user by; events from the CRM and the timers carry a key resolved already. */
function idsOf(event: PipelineEvent): IdsToResolve | undefined {
  switch (event.type) {
    case 'user.message':
    case 'whatsapp.status':
      return { ids: event.data.user };
    case 'user.id_changed':
      return { previous: event.data.previousBsuid, ids: { bsuid: event.data.bsuid, phone: event.data.phone } };
    default:
      return undefined;
  }
}

/** The script as a command of its own: ioredis sends its SHA (EVALSHA) and the body only when Redis lacks it. */
type WithResolve = { resolveUserKey(usersKey: string, previous: string, bsuid: string, phone: string): unknown };

export function createUserKeys(redis: Redis, usersKey: string) {
  if (!('resolveUserKey' in redis)) redis.defineCommand('resolveUserKey', { numberOfKeys: 1, lua: RESOLVE });
  return {
    /** The events with their conversation key in place of the id the parser found first. */
    async resolve(events: PipelineEvent[]): Promise<PipelineEvent[]> {
      const pending = events.map(idsOf);
      if (!pending.some(Boolean)) return events;
      const pipeline = redis.pipeline();
      const resolving = pipeline as unknown as WithResolve;
      for (const item of pending) if (item) resolving.resolveUserKey(usersKey, item.previous ?? '', item.ids.bsuid ?? '', item.ids.phone ?? '');
      const results = (await pipeline.exec()) ?? [];
      let next = 0;
      return events.map((event, index) => {
        if (!pending[index]) return event;
        const [error, key] = results[next++] ?? [new Error('no reply')];
        if (error) throw error;
        return { ...event, key: String(key) } as PipelineEvent;
      });
    },
  };
}

export type UserKeys = ReturnType<typeof createUserKeys>;
