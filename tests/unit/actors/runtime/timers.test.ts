import { describe, expect, test } from 'bun:test';
import { conversationTimerOwner, settleTimerWrites, timerWrites } from '../../../../src/actors/runtime/timers';

const PHONE = '573001112233';
const T1 = '2026-12-01T15:00:00.000Z';
const T2 = '2026-12-01T16:00:00.000Z';

describe('timer rows follow the deadlines after a transition', () => {
  test('a new deadline arms a row named by its owner and timer', () => {
    expect(timerWrites('TK-1', 'TK-1', PHONE, {}, { assign: T1 })).toEqual([
      { id: 'TK-1/assign', conversationKey: PHONE, ticketId: 'TK-1', timer: 'assign', dueAt: new Date(T1), enqueuedAt: null },
    ]);
  });

  test('a moved deadline rewrites its row; an unchanged one writes nothing', () => {
    const writes = timerWrites('TK-1', 'TK-1', PHONE, { assign: T1, idle: T2 }, { assign: T2, idle: T2 });
    expect(writes.map((write) => [write.id, write.dueAt])).toEqual([['TK-1/assign', new Date(T2)]]);
  });

  test('a cleared deadline deletes its row (a null due time)', () => {
    expect(timerWrites('TK-1', 'TK-1', PHONE, { assign: T1 }, {}).map((write) => [write.id, write.dueAt])).toEqual([['TK-1/assign', null]]);
  });

  test("a conversation's timers are owned by a hash of its key, never the key itself", () => {
    const owner = conversationTimerOwner(PHONE);
    expect(owner).toStartWith('conversation-');
    expect(owner).not.toContain(PHONE);
    expect(conversationTimerOwner(PHONE)).toBe(owner);
    expect(timerWrites(owner, null, PHONE, {}, { survey: T1 })[0]).toMatchObject({ id: `${owner}/survey`, ticketId: null, conversationKey: PHONE });
  });
});

describe("a batch's timer writes, settled", () => {
  test('the last word per timer wins: armed then cleared is deleted, cleared then armed is upserted', () => {
    const { cleared, armed } = settleTimerWrites([
      ...timerWrites('TK-1', 'TK-1', PHONE, {}, { assign: T1 }),
      ...timerWrites('TK-1', 'TK-1', PHONE, { assign: T1 }, {}),
      ...timerWrites('TK-2', 'TK-2', PHONE, { idle: T1 }, {}),
      ...timerWrites('TK-2', 'TK-2', PHONE, {}, { idle: T2 }),
    ]);
    expect(cleared).toEqual(['TK-1/assign']);
    expect(armed.map((row) => [row.id, row.dueAt])).toEqual([['TK-2/idle', new Date(T2)]]);
  });
});
