import { describe, expect, test } from 'bun:test';
import { PlainRuntime } from './plain-runtime';
import { UserScript } from './user-script';

/**
 * The document number a user types to authenticate (issue 21, item 4): the
 * lookup call needs it, and the conversation until the directory answers;
 * the history does not, so the message that carried it is stored masked
 * from the batch that hands it to the lookup.
 */
const CUSTOMER = { customerId: 'C-100', customerName: 'Juan Pérez', isInactive: false };

async function askedForDocument(runtime: PlainRuntime, user: UserScript): Promise<void> {
  await runtime.apply(user.writes('hola'));
  await runtime.apply(user.later(5).taps('menu.support', 'Contactar Soporte'));
}

describe('a document typed to authenticate', () => {
  test('is stored masked in the history, however it was typed; the lookup call and the waiting conversation have it whole', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    await askedForDocument(runtime, user);

    const typed = user.later(5).writes('1.010.101.010');
    const { writes } = await runtime.apply(typed);

    const inbound = writes.messages.find((row) => row.direction === 'inbound')!;
    expect(inbound).toMatchObject({ waMessageId: (typed.data as { waMessageId: string }).waMessageId, body: '********10' });
    const call = writes.outbox.find((row) => row.kind === 'customer.lookup')!;
    expect(call.payload).toEqual({ document: '1010101010', phone: user.phone });
    expect((runtime.conversations.get(user.phone)!.snapshot as { context: { pendingDocument: string } }).context.pendingDocument).toBe('1010101010');
  });

  test('the conversation lets go of it once the directory answers', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    await askedForDocument(runtime, user);
    await runtime.apply(user.later(5).writes('1010101010'));

    await runtime.apply(user.later(1).directoryFinds('1010101010', CUSTOMER));

    expect(JSON.stringify(runtime.conversations.get(user.phone)!.snapshot)).not.toContain('1010101010');
  });

  test('a wrong document is masked too (it was looked up); a message the bot did not take as a document is kept as written', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    await askedForDocument(runtime, user);
    const wrong = await runtime.apply(user.later(5).writes('9999999999'));
    await runtime.apply(user.later(1).directoryKnowsNot('9999999999'));

    const notADocument = await runtime.apply(user.later(5).writes('mi número es 3001234567'));

    expect(wrong.writes.messages.find((row) => row.direction === 'inbound')!.body).toBe('********99');
    expect(notADocument.writes.messages.find((row) => row.direction === 'inbound')!.body).toBe('mi número es 3001234567');
  });
});
