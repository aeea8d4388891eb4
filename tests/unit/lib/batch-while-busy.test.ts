import { describe, expect, test } from 'bun:test';
import { batchWhileBusy } from '../../../src/lib/batch-while-busy';

/** The outbox's group commit of delivery outcomes (outbox/dispatcher.ts) is this primitive with its default failure: every caller gets the error. */
const createGroupCommit = <T>(write: (items: T[]) => Promise<void>) => batchWhileBusy({ flush: write });

describe('batch what arrives while busy (the group commit of delivery outcomes)', () => {
  test('an item alone is written at once, in a write of its own', async () => {
    const writes: number[][] = [];
    const record = createGroupCommit(async (items: number[]) => void writes.push(items));
    await record(1);
    expect(writes).toEqual([[1]]);
  });

  test('items that arrive while a write is in progress go together in the next write', async () => {
    const writes: number[][] = [];
    let release!: () => void;
    const firstWrite = new Promise<void>((resolve) => (release = resolve));
    const record = createGroupCommit(async (items: number[]) => {
      writes.push(items);
      if (writes.length === 1) await firstWrite;
    });
    const first = record(1);
    const later = [record(2), record(3), record(4)];
    release();
    await Promise.all([first, ...later]);
    expect(writes).toEqual([[1], [2, 3, 4]]);
  });

  test('a failed write rejects every item it carried, and the next items are still written', async () => {
    let fail = true;
    const written: number[] = [];
    const record = createGroupCommit(async (items: number[]) => {
      if (fail) throw new Error('database down');
      written.push(...items);
    });
    await expect(record(1)).rejects.toThrow('database down');
    fail = false;
    await record(2);
    expect(written).toEqual([2]);
  });
});
