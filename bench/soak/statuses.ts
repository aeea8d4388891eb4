/**
 * WhatsApp's side of every message the service sends: `sent`, `delivered`
 * and `read`, each a signed webhook of its own, a fixed delay after Graph
 * accepted the send (STATUS_DELAYS_MS), posted again until the service
 * answers 200, as Meta does.
 */
import type { ServiceClient } from './client';
import type { AcceptedSend } from './fakes';

const LADDER = ['sent', 'delivered', 'read'] as const;

export function statusPump(delaysMs: readonly number[]) {
  /** One queue per status: each is in due order, since the sends arrive in order and its delay is fixed. */
  const queues = LADDER.map(() => [] as { due: number; send: AcceptedSend }[]);
  /** When each status webhook got its 200. */
  const posted: number[] = [];
  let inFlight = 0;
  let timer: ReturnType<typeof setInterval> | undefined;

  return {
    posted,
    push(send: AcceptedSend): void {
      const now = performance.now();
      queues.forEach((queue, rung) => queue.push({ due: now + delaysMs[rung]!, send }));
    },
    start(client: ServiceClient): void {
      timer = setInterval(() => {
        const now = performance.now();
        queues.forEach((queue, rung) => {
          while (queue.length > 0 && queue[0]!.due <= now) {
            const { send } = queue.shift()!;
            inFlight++;
            void client.status(send.wamid, send.recipient, LADDER[rung]!, send.callbackData).then((at) => {
              posted.push(at);
              inFlight--;
            });
          }
        });
      }, 10);
    },
    /** Every status due so far was accepted, and none is waiting for its time. */
    drained: () => inFlight === 0 && queues.every((queue) => queue.length === 0),
    stop(): void {
      clearInterval(timer);
    },
  };
}

export type StatusPump = ReturnType<typeof statusPump>;
