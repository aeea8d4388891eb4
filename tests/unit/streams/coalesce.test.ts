import { expect, test } from 'bun:test';
import { createCoalescer } from '../../../src/streams/coalesce';

/** A transaction the test finishes when it wants. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test('a batch alone is applied at once, on its own', async () => {
  const calls: string[] = [];
  const submit = createCoalescer<string>({
    applyTogether: async (batches) => void calls.push(`together ${batches.join(',')}`),
    applyAlone: async (batch) => void calls.push(`alone ${batch}`),
  });
  await submit('p1');
  expect(calls).toEqual(['alone p1']);
});

test('batches handed in while one is applied go together in the next transaction, in the order they came', async () => {
  const calls: string[] = [];
  const first = gate();
  const submit = createCoalescer<string>({
    applyTogether: async (batches) => void calls.push(`together ${batches.join(',')}`),
    applyAlone: async (batch) => {
      calls.push(`alone ${batch}`);
      if (batch === 'p1') await first.opened;
    },
  });
  const done = [submit('p1'), submit('p2'), submit('p3'), submit('p4')];
  await Bun.sleep(5);
  expect(calls).toEqual(['alone p1']);
  first.open();
  await Promise.all(done);
  expect(calls).toEqual(['alone p1', 'together p2,p3,p4']);
});

test('when a group fails, each of its batches is applied alone: only the failing one is refused, with its own error', async () => {
  const calls: string[] = [];
  const first = gate();
  const submit = createCoalescer<string>({
    applyTogether: async () => {
      throw new Error('fenced: p3');
    },
    applyAlone: async (batch) => {
      calls.push(`alone ${batch}`);
      if (batch === 'p1') await first.opened;
      if (batch === 'p3') throw new Error('fenced: p3');
    },
  });
  const outcomes = [submit('p1'), submit('p2'), submit('p3'), submit('p4')].map((promise) =>
    promise.then(
      () => 'ok',
      (error: Error) => error.message,
    ),
  );
  first.open();
  expect(await Promise.all(outcomes)).toEqual(['ok', 'ok', 'fenced: p3', 'ok']);
  expect(calls.sort()).toEqual(['alone p1', 'alone p2', 'alone p3', 'alone p4']);
});

test('it keeps going after a failure: the next batches are applied', async () => {
  let fail = true;
  const submit = createCoalescer<string>({
    applyTogether: async () => {},
    applyAlone: async () => {
      if (fail) throw new Error('database down');
    },
  });
  await expect(submit('p1')).rejects.toThrow('database down');
  fail = false;
  await submit('p1');
});
