import type Redis from 'ioredis';
import type { TemplateUpdate } from '../domain/events';

/** What Meta last said of a template the service sends, and when it was heard. */
export type TemplateStatus = Omit<TemplateUpdate, 'name'> & { at: string };

/**
 * The last word Meta gave on each template the service sends (the
 * re-engagement template the 24-hour rule relies on), kept in one Redis hash
 * so every instance shows the same on /health/ready and /metrics: the
 * webhook that hears it writes it (a rare delivery, one HSET), never the
 * database.
 */
export function createTemplateStatus(redis: Redis, key: string) {
  return {
    async record(update: TemplateUpdate, at: string): Promise<void> {
      const { name, ...status } = update;
      await redis.hset(key, name, JSON.stringify({ ...status, at }));
    },
    async all(): Promise<Record<string, TemplateStatus>> {
      const stored = await redis.hgetall(key);
      const statuses: Record<string, TemplateStatus> = {};
      for (const [name, json] of Object.entries(stored)) {
        try {
          statuses[name] = JSON.parse(json) as TemplateStatus;
        } catch {
          // Not ours to read (written by hand): left out.
        }
      }
      return statuses;
    },
  };
}

export type TemplateStatuses = ReturnType<typeof createTemplateStatus>;

/** A status whose template cannot carry a message now: paused or disabled by Meta, rejected, or gone. */
export const isUnusable = (status: Pick<TemplateStatus, 'event'>): boolean =>
  ['PAUSED', 'DISABLED', 'REJECTED', 'DELETED', 'ARCHIVED', 'FLAGGED'].includes(status.event);
