/**
 * A background loop: run `work`, and when it found nothing to do, sleep for
 * `pollMs` or until poked. Work that found something runs again at once, so
 * a backlog drains at full speed.
 */
export function createPoller(options: { pollMs: number; work: () => Promise<number>; onError: (error: Error) => void }) {
  let running = false;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let pokedWhileBusy = false;

  async function run(): Promise<void> {
    while (running) {
      let handled = 0;
      try {
        handled = await options.work();
      } catch (error) {
        options.onError(error as Error);
      }
      // Closed while the round ran: no sleep (a long poll interval would hold the stop for all of it).
      if (!running) break;
      if (handled > 0 || pokedWhileBusy) {
        pokedWhileBusy = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      loop = run();
    },
    poke(): void {
      if (wake) wake();
      else pokedWhileBusy = true;
    },
    /** Resolves once the round in hand has finished. */
    async close(): Promise<void> {
      running = false;
      wake?.();
      await loop;
    },
  };
}
