import { describe, expect, test } from 'bun:test';
import { createPoller } from '../../../src/lib/poller';

describe('the background poller', () => {
  test('closed while a round runs, it stops when the round ends, without sleeping its interval first', async () => {
    let finishRound!: () => void;
    const roundStarted = Promise.withResolvers<void>();
    const poller = createPoller({
      pollMs: 3_600_000,
      work: async () => {
        roundStarted.resolve();
        await new Promise<void>((resolve) => (finishRound = resolve));
        return 0;
      },
      onError: () => {},
    });
    poller.start();
    await roundStarted.promise;
    let closed = false;
    const closing = poller.close().then(() => (closed = true));
    finishRound();
    // An hour's poll interval: if the loop slept before looking at `running`, this would never resolve within the test.
    await closing;
    expect(closed).toBe(true);
  });

  test('a round that found work runs again at once; an idle one waits to be poked', async () => {
    const found = [2, 1, 0, 0];
    let rounds = 0;
    const idle = Promise.withResolvers<void>();
    const poller = createPoller({
      pollMs: 3_600_000,
      work: async () => {
        rounds++;
        if (rounds === 3) idle.resolve();
        return found[rounds - 1] ?? 0;
      },
      onError: () => {},
    });
    poller.start();
    await idle.promise;
    expect(rounds).toBe(3);
    const fourth = Promise.withResolvers<void>();
    const watch = setInterval(() => rounds === 4 && fourth.resolve(), 1);
    poller.poke();
    await fourth.promise;
    clearInterval(watch);
    await poller.close();
    expect(rounds).toBe(4);
  });
});
