import { expect, test } from 'bun:test';
import { createCoalescer } from '../../../src/streams/coalesce';

/** A transaction the test finishes when it wants. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test('a batch alone is applied at once', async () => {
  const calls: string[] = [];
  const submit = createCoalescer<string>({
    applyTogether: async (batches) => void calls.push(`together ${batches.join(',')}`),
    applyAlone: async (batch) => void calls.push(`alone ${batch}`),
  });
  await submit('p1');
  expect(calls).toEqual(['together p1']);
});

test('batches handed in while one is applied go together in the next transaction, in the order they came', async () => {
  const calls: string[] = [];
  const first = gate();
  const firstStarted = gate();
  const submit = createCoalescer<string>({
    applyTogether: async (batches) => {
      calls.push(`together ${batches.join(',')}`);
      if (batches[0] === 'p1') {
        firstStarted.open();
        await first.opened;
      }
    },
    applyAlone: async (batch) => void calls.push(`alone ${batch}`),
  });
  const done = [submit('p1'), submit('p2'), submit('p3'), submit('p4')];
  // The first transaction is under way, and holds: the others were handed in while it runs.
  await firstStarted.opened;
  expect(calls).toEqual(['together p1']);
  first.open();
  await Promise.all(done);
  expect(calls).toEqual(['together p1', 'together p2,p3,p4']);
});

test('when a group fails, each of its batches is applied alone: only the failing one is refused, with its own error', async () => {
  const calls: string[] = [];
  const submit = createCoalescer<string>({
    applyTogether: async () => {
      throw new Error('fenced: p3');
    },
    applyAlone: async (batch) => {
      calls.push(`alone ${batch}`);
      if (batch === 'p3') throw new Error('fenced: p3');
    },
  });
  const outcomes = [submit('p1'), submit('p2'), submit('p3')].map((promise) =>
    promise.then(
      () => 'ok',
      (error: Error) => error.message,
    ),
  );
  expect(await Promise.all(outcomes)).toEqual(['ok', 'ok', 'fenced: p3']);
  expect(calls.sort()).toEqual(['alone p1', 'alone p2', 'alone p3']);
});

test('a batch applied alone that waits on a lock holds up its own partition only: the next groups go on', async () => {
  const stuck = gate();
  const waitingAlone = gate();
  const applied: string[] = [];
  const submit = createCoalescer<string>({
    applyTogether: async (batches) => {
      // The stuck partition's fence is held by a paused ex-owner: its group gives up on the lock.
      if (batches.includes('p1')) throw new Error('lock timeout');
      applied.push(...batches);
    },
    applyAlone: async (batch) => {
      if (batch === 'p1') {
        waitingAlone.open();
        await stuck.opened;
      }
      applied.push(batch);
    },
  });
  const p1 = submit('p1');
  // p1's group failed and p1 now waits alone on the lock.
  await waitingAlone.opened;
  await Promise.all([submit('p2'), submit('p3')]);
  expect(applied).toEqual(['p2', 'p3']);
  stuck.open();
  await p1;
  expect(applied).toEqual(['p2', 'p3', 'p1']);
});

test('it keeps going after a failure, even one thrown before any promise', async () => {
  let fail = true;
  const submit = createCoalescer<string>({
    applyTogether: () => {
      if (fail) throw new Error('database down');
      return Promise.resolve();
    },
    applyAlone: () => {
      throw new Error('database down');
    },
  });
  await expect(submit('p1')).rejects.toThrow('database down');
  fail = false;
  await submit('p1');
});
