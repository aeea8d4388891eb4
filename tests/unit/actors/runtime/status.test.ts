import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { and, eq } from 'drizzle-orm';
import { messages } from '../../../../src/db/schema';
import { openRuntimeFixture, UserScript, type RuntimeFixture } from './runtime-fixture';

let fixture: RuntimeFixture;
beforeAll(async () => {
  fixture = await openRuntimeFixture('runtime_status');
});
afterAll(async () => {
  await fixture.close();
});

/** The user says hello; the bot's menu is queued: its history row, not yet accepted by Graph. */
async function menuSentTo(user: UserScript) {
  await fixture.apply(user.writes('hola'));
  const [menu] = await fixture.database.db
    .select()
    .from(messages)
    .where(and(eq(messages.conversationKey, user.phone), eq(messages.direction, 'outbound')));
  return menu!;
}

const messageById = async (id: number) => (await fixture.database.db.select().from(messages).where(eq(messages.id, id)))[0]!;

describe("WhatsApp's delivery statuses", () => {
  test("find a send whose Graph response was lost by the outbox key WhatsApp echoes, and record WhatsApp's id", async () => {
    const user = new UserScript();
    const menu = await menuSentTo(user);
    expect(menu).toMatchObject({ status: 'queued', waMessageId: null });

    await fixture.apply(user.later(1).whatsappReports(`wamid.out.${user.phone}`, 'sent', menu.outboxKey!));

    expect(await messageById(menu.id)).toMatchObject({ status: 'sent', waMessageId: `wamid.out.${user.phone}` });
  });

  test('move a message up the ladder, never down: a late "delivered" after "read" is ignored', async () => {
    const user = new UserScript();
    const menu = await menuSentTo(user);
    const waMessageId = `wamid.out.${user.phone}`;
    await fixture.apply(user.later(1).whatsappReports(waMessageId, 'sent', menu.outboxKey!));

    await fixture.apply(user.later(2).whatsappReports(waMessageId, 'read'), user.later(1).whatsappReports(waMessageId, 'delivered'));

    const row = await messageById(menu.id);
    expect(row.status).toBe('read');
    expect(row.statusAt?.toISOString()).toBe(new Date(Date.parse(user.now) - 1000).toISOString());
  });

  test('keep the first pricing a status gives, even on a status that arrives after a higher one', async () => {
    const user = new UserScript();
    const menu = await menuSentTo(user);
    const waMessageId = `wamid.out.${user.phone}`;
    const priced = (status: 'sent' | 'delivered' | 'read', category: string) => {
      const event = user.later(1).whatsappReports(waMessageId, status, menu.outboxKey!);
      return { ...event, data: { ...event.data, pricing: { billable: category !== 'service', pricingModel: 'PMP', category } } } as typeof event;
    };
    await fixture.apply(user.later(2).whatsappReports(waMessageId, 'read', menu.outboxKey!));
    expect(await messageById(menu.id)).toMatchObject({ status: 'read', billable: null });

    await fixture.apply(priced('delivered', 'marketing'));
    await fixture.apply(priced('sent', 'utility'));

    expect(await messageById(menu.id)).toMatchObject({ status: 'read', billable: true, pricingModel: 'PMP', pricingCategory: 'marketing' });
  });

  test("never touch the user's own messages", async () => {
    const user = new UserScript();
    await menuSentTo(user);
    const [inbound] = await fixture.database.db
      .select()
      .from(messages)
      .where(and(eq(messages.conversationKey, user.phone), eq(messages.direction, 'inbound')));

    await fixture.apply(user.later(1).whatsappReports(inbound!.waMessageId!, 'read'));

    expect((await messageById(inbound!.id)).status).toBe('received');
  });
});
