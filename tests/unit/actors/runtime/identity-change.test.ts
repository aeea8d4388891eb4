import { describe, expect, test } from 'bun:test';
import type { PipelineEvent } from '../../../../src/domain/events';
import { identityChange } from '../../../../src/domain/user-ids';
import { PlainRuntime } from './plain-runtime';
import { UserScript } from './user-script';

/**
 * An identity change (issue 22, finding 7): a webhook pairing a new phone
 * with a user's BSUID, or a `user_id_update`, while their ticket is open is
 * recorded on the ticket and told to the CRM with both the old and the new
 * ids; the agent's replies go to the new phone from then on.
 */
const CUSTOMER = { customerId: 'C-200', customerName: 'Ana Gómez', isInactive: false };
let users = 0;

/** A user known by phone and BSUID (the conversation keyed by the phone), with a ticket an agent holds. */
async function userWithAgent(runtime: PlainRuntime) {
  const user = new UserScript();
  const bsuid = `CO.7${process.pid}${String(++users).padStart(4, '0')}`;
  const withBsuid = (event: PipelineEvent) => {
    const message = event as Extract<PipelineEvent, { type: 'user.message' }>;
    return { ...message, data: { ...message.data, user: { phone: user.phone, bsuid } } } as PipelineEvent;
  };
  await runtime.apply(withBsuid(user.writes('hola')));
  await runtime.apply(withBsuid(user.later(5).taps('menu.support', 'Contactar Soporte')));
  await runtime.apply(withBsuid(user.later(5).writes('2020202020')));
  const opened = await runtime.apply(user.later(1).directoryFinds('2020202020', CUSTOMER));
  const ticketId = opened.writes.tickets[0]!.id;
  await runtime.apply(user.later(1).agentTakes(ticketId));
  return { user, bsuid, ticketId };
}

/** A message under the user's conversation key whose webhook names `ids`. */
function writesAs(user: UserScript, ids: { phone?: string; bsuid?: string }, text: string): PipelineEvent {
  const message = user.writes(text) as Extract<PipelineEvent, { type: 'user.message' }>;
  return { ...message, data: { ...message.data, user: ids } };
}

const ticketUpdates = (applied: Awaited<ReturnType<PlainRuntime['apply']>>) =>
  applied.writes.outbox.filter((row) => row.kind === 'crm.ticket_update').map((row) => row.payload as Record<string, unknown>);

describe('a new phone for a known BSUID while a ticket is open', () => {
  test('is recorded on the ticket and told to the CRM with the old and the new phone, before the message is relayed', async () => {
    const runtime = new PlainRuntime();
    const { user, bsuid, ticketId } = await userWithAgent(runtime);
    const newPhone = '573119998877';

    const applied = await runtime.apply(writesAs(user.later(30), { phone: newPhone, bsuid }, 'cambié de número'));

    expect(applied.writes.ticketEvents).toContainEqual(
      expect.objectContaining({ ticketId, type: 'identity_changed', data: { previousUserPhone: user.phone, userPhone: newPhone, userId: bsuid } }),
    );
    expect(ticketUpdates(applied)).toEqual([
      expect.objectContaining({ ticketId, reason: 'identity_changed', status: 'active', userPhone: newPhone, userId: bsuid, previousUserPhone: user.phone }),
    ]);
    expect(applied.writes.outbox.map((row) => row.kind)).toEqual(['crm.ticket_update', 'crm.user_message']);
    expect(applied.writes.outbox[1]!.payload).toMatchObject({ userPhone: newPhone, message: 'cambié de número' });
  });

  test("the agent's next reply goes to the new phone", async () => {
    const runtime = new PlainRuntime();
    const { user, bsuid, ticketId } = await userWithAgent(runtime);
    await runtime.apply(writesAs(user.later(30), { phone: '573119998877', bsuid }, 'cambié de número'));

    const reply = await runtime.apply(user.later(5).agentWrites(ticketId, 'Listo'));

    expect(reply.writes.outbox.find((row) => row.kind === 'whatsapp.send')!.payload).toMatchObject({ to: '573119998877' });
  });

  test('the same phone again, or a webhook hiding it, changes nothing and tells no one', async () => {
    const runtime = new PlainRuntime();
    const { user, bsuid } = await userWithAgent(runtime);

    const same = await runtime.apply(writesAs(user.later(30), { phone: user.phone, bsuid }, 'hola'), writesAs(user.later(5), { bsuid }, 'sigo aquí'));

    expect(ticketUpdates(same)).toEqual([]);
    expect(same.writes.ticketEvents.filter((event) => event.type === 'identity_changed')).toEqual([]);
  });
});

describe('a user_id_update while a ticket is open', () => {
  test('tells the CRM the new BSUID with the previous one', async () => {
    const runtime = new PlainRuntime();
    const { user, bsuid, ticketId } = await userWithAgent(runtime);
    const newBsuid = `${bsuid}9`;
    const update: PipelineEvent = {
      type: 'user.id_changed',
      key: user.phone,
      id: `wa:user_id:${bsuid}:${newBsuid}`,
      at: user.later(60).now,
      data: { previousBsuid: bsuid, bsuid: newBsuid, timestamp: user.now },
    };

    const applied = await runtime.apply(update);

    expect(ticketUpdates(applied)).toEqual([
      expect.objectContaining({ ticketId, reason: 'identity_changed', userPhone: user.phone, userId: newBsuid, previousUserId: bsuid }),
    ]);
    expect(applied.writes.ticketEvents).toContainEqual(
      expect.objectContaining({ type: 'identity_changed', data: { previousUserId: bsuid, userPhone: user.phone, userId: newBsuid } }),
    );
  });
});

describe('without an open ticket', () => {
  test('the new phone is learnt (the bot writes to it) and no one else needs telling', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const bsuid = `CO.8${process.pid}0001`;
    await runtime.apply(writesAs(user, { phone: user.phone, bsuid }, 'hola'));

    const applied = await runtime.apply(writesAs(user.later(60), { phone: '573119990000', bsuid }, 'hola de nuevo'));

    expect(ticketUpdates(applied)).toEqual([]);
    expect(applied.writes.ticketEvents).toEqual([]);
    expect(applied.writes.outbox.find((row) => row.kind === 'whatsapp.send')!.payload).toMatchObject({ to: '573119990000' });
  });
});

describe('what counts as a change', () => {
  test('a phone or BSUID replaced by another; an id learnt where none was known is not one', () => {
    expect(identityChange({ phone: '1', bsuid: 'CO.1' }, { phone: '2', bsuid: 'CO.1' })).toEqual({
      previous: { phone: '1', bsuid: 'CO.1' },
      current: { phone: '2', bsuid: 'CO.1' },
    });
    expect(identityChange({ phone: '1', bsuid: 'CO.1' }, { phone: '1', bsuid: 'CO.2' })).not.toBeNull();
    expect(identityChange({ bsuid: 'CO.1' }, { phone: '2', bsuid: 'CO.1' })).toBeNull();
    expect(identityChange({ phone: '1' }, { phone: '1', bsuid: 'CO.1', username: 'ana' })).toBeNull();
  });
});
