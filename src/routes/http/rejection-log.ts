import type { Logger } from '../../logger';

/** Why a request was turned away, said once per client and interval. */
export interface Rejection {
  /** Short and stable, for a log query: `missing`, `mismatch`, `not_configured`. */
  reason: string;
  path: string;
  /** The sentence a support engineer reads; never a secret or a body. */
  message: string;
}

export interface RejectionLog {
  record(client: string, rejection: Rejection): void;
}

export interface RejectionLogOptions {
  /** The log line's `event`, e.g. `webhook.signature_rejected`. */
  event: string;
  /** A client's first rejection is logged at once; the ones after it in this interval, as one line with their count. */
  intervalMs?: number;
  /** Clients followed one by one; past them, the rest share one count (a spray from many addresses stays a few lines). */
  maxClients?: number;
  /** Runs `close` when an interval ends; by default a timer that does not keep the process alive. */
  schedule?: (close: () => void, ms: number) => void;
}

const unrefTimer = (close: () => void, ms: number) => void setTimeout(close, ms).unref();

const OTHER_CLIENTS = 'other clients';

/**
 * Rejected requests as log lines, at most one per client per interval: the first at once (a misconfigured
 * secret shows up with the first delivery Meta sends), then, at the end of each interval in which more
 * came, one line with how many. A flood of bad signatures costs a few lines, not one per request.
 */
export function createRejectionLog(logger: Logger, options: RejectionLogOptions): RejectionLog {
  const intervalMs = options.intervalMs ?? 60_000;
  const maxClients = options.maxClients ?? 1000;
  const schedule = options.schedule ?? unrefTimer;
  /** Clients rejected in their current interval: how many more since the last line, and the latest rejection. */
  const open = new Map<string, { more: number; last: Rejection }>();

  const closeInterval = (client: string) => {
    const window = open.get(client)!;
    if (window.more === 0) {
      open.delete(client);
      return;
    }
    const { reason, path, message } = window.last;
    logger.warn(
      { event: options.event, client, reason, path, count: window.more },
      `${window.more} more rejected from ${client} in the last ${Math.round(intervalMs / 1000)} s; the latest: ${message}`,
    );
    window.more = 0;
    schedule(() => closeInterval(client), intervalMs);
  };

  return {
    record(address, rejection) {
      const client = open.has(address) || open.size < maxClients ? address : OTHER_CLIENTS;
      const window = open.get(client);
      if (window) {
        window.more++;
        window.last = rejection;
        return;
      }
      open.set(client, { more: 0, last: rejection });
      logger.warn({ event: options.event, client, reason: rejection.reason, path: rejection.path, count: 1 }, `rejected from ${client}: ${rejection.message}`);
      schedule(() => closeInterval(client), intervalMs);
    },
  };
}
