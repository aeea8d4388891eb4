import { describe, expect, test } from 'bun:test';
import { destinationOf, laneKey, laneOf, maskLane, OUTBOX_KINDS } from '../../../src/domain/lanes';
import { eventIds, outboxKeyOf } from '../../../src/domain/event-ids';
import { outboxKind } from '../../../src/db/schema';

describe("an outbox row's lane", () => {
  test('is its destination and the conversation key, named as the rows already stored name it', () => {
    expect(OUTBOX_KINDS.map((kind) => laneOf(kind, '573001112233'))).toEqual([
      'crm:573001112233',
      'crm:573001112233',
      'crm:573001112233',
      'wa:573001112233',
      'lookup:573001112233',
      'crm:573001112233',
      'wa:573001112233',
      'wa:573001112233',
      'wa:573001112233',
    ]);
    expect(OUTBOX_KINDS.map(destinationOf)).toEqual(['crm', 'crm', 'crm', 'whatsapp', 'lookup', 'crm', 'whatsapp', 'whatsapp', 'whatsapp']);
  });

  test('gives back the key it was built with, a BSUID with its dots included', () => {
    expect(laneKey(laneOf('whatsapp.send', 'CO.1047385771169864'))).toBe('CO.1047385771169864');
    expect(maskLane(laneOf('customer.lookup', 'CO.1047385771169864'))).toBe('lookup:CO.10473*********64');
  });

  test('the column holds exactly these kinds: the enum is built from them', () => {
    expect(outboxKind.enumValues).toEqual([...OUTBOX_KINDS]);
  });
});

test('event ids keep the formats already stored in processed_events', () => {
  expect([
    eventIds.userMessage('wamid.1'),
    eventIds.status('wamid.1', 'read'),
    eventIds.userIdChange('CO.1', 'CO.2'),
    eventIds.threadControl('ab12', 0),
    eventIds.crmRequest('handover', 'key', 'ff'),
    eventIds.timerFiring('TK-1/assign', '2026-11-30T15:00:00.000Z'),
    eventIds.outboxResult(7),
    eventIds.outboxFailure(7),
    outboxKeyOf('wa:msg:wamid.1', 2),
  ]).toEqual([
    'wa:msg:wamid.1',
    'wa:status:wamid.1:read',
    'wa:user_id:CO.1:CO.2',
    'meta:handover:ab12:0',
    'crm:handover:key:ff',
    'timer:TK-1/assign@2026-11-30T15:00:00.000Z',
    'outbox:7:result',
    'outbox:7:failed',
    'wa:msg:wamid.1#2',
  ]);
});
