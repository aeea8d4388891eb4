import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { conversations, ticketEvents } from '../../src/db/schema';
import { bearer, call, freshPhone, jsonRequest, routeContext, SECRETS, type RouteContext, type TestApp } from './support';

/**
 * A CRM call naming the user's phone or BSUID from before an identity change
 * (issue 22, finding 7): the ticket recorded the change and the CRM was told,
 * but a call already on its way, or a CRM slow to update, still names the
 * previous one. Within IDENTITY_CHANGE_GRACE_S it is accepted and answered
 * with the current ids; past it, or naming someone else, it is 400 as before.
 */
let context: RouteContext;
let app: TestApp;
let appWithHourGrace: TestApp;
beforeAll(async () => {
  context = await routeContext('crm_identity');
  app = context.app();
  appWithHourGrace = context.app({ IDENTITY_CHANGE_GRACE_S: '3600' });
});
afterAll(() => context.close());

const HOUR_MS = 3600_000;
let bsuids = 0;

/** A user who had `previousPhone` (the conversation's key) and now has a new phone, with an open ticket that recorded the change `changedAgoMs` ago. */
async function userWhoChangedPhone(changedAgoMs: number) {
  const previousPhone = freshPhone();
  const currentPhone = freshPhone();
  const bsuid = `CO.9${process.pid}${String(++bsuids).padStart(4, '0')}`;
  await context.database.db.insert(conversations).values({ conversationKey: previousPhone, userPhone: currentPhone, bsuid, state: '"inTicket"', snapshot: {} });
  const ticket = await context.insertTicket({ conversationKey: previousPhone });
  await context.database.db.insert(ticketEvents).values({
    ticketId: ticket.id,
    type: 'identity_changed',
    data: { previousUserPhone: previousPhone, userPhone: currentPhone, userId: bsuid },
    at: new Date(Date.now() - changedAgoMs),
  });
  return { ticket, previousPhone, currentPhone, bsuid };
}

const handBack = (target: TestApp, ticketId: string, named: Record<string, string>) =>
  call(target, jsonRequest('POST', '/api/crm/handover', { ticketId, ...named, handoverType: 'human_to_bot' }, bearer(SECRETS.crmToken)));

describe('a CRM call naming the previous phone of an open ticket', () => {
  test('within the grace period (a day by default) is accepted, queued, and answered with the current phone and BSUID', async () => {
    const { ticket, previousPhone, currentPhone, bsuid } = await userWhoChangedPhone(2 * HOUR_MS);

    const { status, body } = await handBack(app, ticket.id, { userPhone: `+${previousPhone}` });

    expect(status).toBe(202);
    expect(body).toMatchObject({ success: true, ticketId: ticket.id, userPhone: currentPhone, userId: bsuid });
    expect((await app.entries()).filter((entry) => entry.type === 'crm.handover' && entry.data.ticketId === ticket.id)).toHaveLength(1);
  });

  test('past the grace period is 400 user_phone_mismatch, as for any phone not the ticket’s', async () => {
    const { ticket, previousPhone } = await userWhoChangedPhone(2 * HOUR_MS);

    expect(await handBack(appWithHourGrace, ticket.id, { userPhone: previousPhone })).toMatchObject({ status: 400, body: { error: 'user_phone_mismatch' } });
    expect(await handBack(app, ticket.id, { userPhone: freshPhone() })).toMatchObject({ status: 400, body: { error: 'user_phone_mismatch' } });
  });

  test('a call naming the current phone is answered as always, without the ids', async () => {
    const { ticket, currentPhone } = await userWhoChangedPhone(60_000);

    const { status, body } = await handBack(app, ticket.id, { userPhone: currentPhone });

    expect(status).toBe(202);
    expect(body).not.toHaveProperty('userPhone');
  });
});

describe('a CRM call naming the previous BSUID of an open ticket (a user_id_update)', () => {
  test('within the grace period is accepted and answered with the current one; an unknown BSUID is still 400', async () => {
    const phone = freshPhone();
    const previousBsuid = `CO.5${process.pid}${String(++bsuids).padStart(4, '0')}`;
    const currentBsuid = `${previousBsuid}1`;
    await context.database.db
      .insert(conversations)
      .values({ conversationKey: phone, userPhone: phone, bsuid: currentBsuid, state: '"inTicket"', snapshot: {} });
    const ticket = await context.insertTicket({ conversationKey: phone });
    await context.database.db.insert(ticketEvents).values({
      ticketId: ticket.id,
      type: 'identity_changed',
      data: { previousUserId: previousBsuid, userPhone: phone, userId: currentBsuid },
      at: new Date(Date.now() - 60_000),
    });

    const { status, body } = await handBack(app, ticket.id, { userId: previousBsuid });
    const stranger = await handBack(app, ticket.id, { userId: 'CO.123' });

    expect(status).toBe(202);
    expect(body).toMatchObject({ userPhone: phone, userId: currentBsuid });
    expect(stranger).toMatchObject({ status: 400, body: { error: 'user_id_mismatch' } });
  });
});
