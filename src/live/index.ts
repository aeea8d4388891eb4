import type Redis from 'ioredis';
import type { Database } from '../db/client';
import { liveTickets } from '../db/gauges';
import type { Logger } from '../logger';
import { buildBoard, FALLBACK_WINDOW_H } from './board';
import { listenForChanges } from './changes';
import { createLiveFeed, type LiveFeed } from './feed';

export type { LiveBoard } from './board';
export { createChangeSignal, type ChangeSignal } from './changes';
export type { LiveFeed } from './feed';

/** An instance's live views: the board read from Postgres, again on each change signalled through Redis. */
export function createLiveView(deps: { database: Database; redis: Redis; keyPrefix: string; logger: Logger }): LiveFeed {
  return createLiveFeed({
    async load() {
      const now = new Date();
      return buildBoard(await liveTickets(deps.database, new Date(now.getTime() - FALLBACK_WINDOW_H * 3_600_000)), now);
    },
    listen: (onChange) => listenForChanges(deps.redis, deps.keyPrefix, onChange),
    logger: deps.logger,
  });
}
