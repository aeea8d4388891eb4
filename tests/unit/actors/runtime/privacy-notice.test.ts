import { describe, expect, test } from 'bun:test';
import type { PipelineEvent } from '../../../../src/domain/events';
import { privacyNoticeOf } from '../../../../src/domain/privacy-notice';
import { DEFAULT_TEXTS } from '../../../../src/domain/texts';
import { plainPolicy, PlainRuntime } from './plain-runtime';
import { UserScript } from './user-script';
import { POLICY } from '../../../support/simulated-clock';

/** The privacy notice (issue 21, item 3): before the bot's first answer, once per version, kept with the conversation. */

const NOTICE = 'Conecta2Tel trata tus datos personales según la Ley 1581 de 2012. Política: https://conecta2tel.co/datos';
const withNotice = (text = NOTICE, version = '') => plainPolicy(POLICY, { privacyNotice: privacyNoticeOf(text, version) });

/** What the bot queued to WhatsApp, in order: each send's text (a menu's body). */
const sentTexts = (applied: Awaited<ReturnType<PlainRuntime['apply']>>) =>
  applied.writes.outbox
    .filter((row) => row.kind === 'whatsapp.send')
    .map((row) => {
      const payload = row.payload as { text?: { body: string }; interactive?: { body: { text: string } } };
      return payload.text?.body ?? payload.interactive?.body.text ?? '';
    });

/** A reaction: WhatsApp tells of it, the bot never answers it. */
const reacts = (user: UserScript): PipelineEvent => {
  const event = user.writes('') as Extract<PipelineEvent, { type: 'user.message' }>;
  return { ...event, data: { ...event.data, type: 'reaction', text: undefined, reaction: { waMessageId: 'wamid.earlier', emoji: '👍' } } };
};

describe('the privacy notice', () => {
  test('goes before the greeting on a first contact, in the same lane, with its history row; the conversation keeps its version and time', async () => {
    const runtime = new PlainRuntime(withNotice());
    const user = new UserScript();

    const applied = await runtime.apply(user.writes('hola'));

    const [notice, menu] = sentTexts(applied);
    expect(notice).toBe(NOTICE);
    expect(menu).toStartWith('¡Hola! Soy el asistente virtual de Conecta2Tel.');
    expect(applied.writes.outbox.map((row) => row.lane)).toEqual([`wa:${user.phone}`, `wa:${user.phone}`]);
    expect(applied.writes.messages.filter((row) => row.direction === 'outbound').map((row) => [row.author, row.type, row.body])).toEqual([
      ['bot', 'text', NOTICE],
      ['bot', 'interactive', expect.stringContaining(DEFAULT_TEXTS.menuBody)],
    ]);
    const version = privacyNoticeOf(NOTICE)!.version;
    expect(runtime.conversations.get(user.phone)).toMatchObject({ privacyNoticeVersion: version, privacyNoticeSentAt: new Date(user.now) });
  });

  test('is not sent again for the same version, however the user goes on', async () => {
    const runtime = new PlainRuntime(withNotice());
    const user = new UserScript();
    await runtime.apply(user.writes('hola'));
    const firstSentAt = runtime.conversations.get(user.phone)!.privacyNoticeSentAt;

    const later = await runtime.apply(user.later(60).writes('soporte'), user.later(5).writes('hola otra vez'));

    expect(sentTexts(later)).not.toContain(NOTICE);
    expect(sentTexts(later).length).toBeGreaterThan(0);
    expect(runtime.conversations.get(user.phone)!.privacyNoticeSentAt).toEqual(firstSentAt);
  });

  test('is sent again, once, after its text changes, and the new version and time are recorded', async () => {
    const before = new PlainRuntime(withNotice());
    const user = new UserScript();
    await before.apply(user.writes('hola'));
    const edited = `${NOTICE} Actualizada en diciembre.`;
    const after = new PlainRuntime(withNotice(edited));
    for (const [key, row] of before.conversations) after.conversations.set(key, row);

    const next = await after.apply(user.later(3600).writes('hola'));
    const again = await after.apply(user.later(5).writes('menu'));

    expect(sentTexts(next)[0]).toBe(edited);
    expect(sentTexts(again)).not.toContain(edited);
    expect(after.conversations.get(user.phone)).toMatchObject({
      privacyNoticeVersion: privacyNoticeOf(edited)!.version,
      privacyNoticeSentAt: new Date(Date.parse(user.now) - 5000),
    });
  });

  test('an explicit PRIVACY_NOTICE_VERSION decides: an edited text under the same version is not sent again', async () => {
    const before = new PlainRuntime(withNotice(NOTICE, '2026-05'));
    const user = new UserScript();
    await before.apply(user.writes('hola'));
    const after = new PlainRuntime(withNotice(`${NOTICE} (typo fixed)`, '2026-05'));
    for (const [key, row] of before.conversations) after.conversations.set(key, row);

    const next = await after.apply(user.later(60).writes('hola'));

    expect(sentTexts(next).some((text) => text.startsWith(NOTICE))).toBe(false);
    expect(after.conversations.get(user.phone)!.privacyNoticeVersion).toBe('2026-05');
  });

  test('waits for a message the bot answers: a reaction first gets nothing', async () => {
    const runtime = new PlainRuntime(withNotice());
    const user = new UserScript();

    const reaction = await runtime.apply(reacts(user));
    const hello = await runtime.apply(user.later(5).writes('hola'));

    expect(sentTexts(reaction)).toEqual([]);
    expect(sentTexts(hello)[0]).toBe(NOTICE);
  });

  test('a user talking to an agent when the notice changes gets it when the bot next answers them, not in the middle of the ticket', async () => {
    const before = new PlainRuntime(withNotice());
    const user = new UserScript();
    await before.apply(user.writes('hola'));
    await before.apply(user.later(5).taps('menu.support', 'Contactar Soporte'));
    await before.apply(user.later(5).writes('2020202020'));
    const opened = await before.apply(user.later(1).directoryFinds('2020202020', { customerId: 'C-200', customerName: 'Ana', isInactive: false }));
    const ticketId = opened.writes.tickets[0]!.id;
    await before.apply(user.later(1).agentTakes(ticketId));
    const edited = `${NOTICE} v2`;
    const after = new PlainRuntime(withNotice(edited));
    for (const [key, row] of before.conversations) after.conversations.set(key, row);
    for (const [key, row] of before.tickets) after.tickets.set(key, row);

    const duringTicket = await after.apply(user.later(10).writes('sigo sin internet'));
    await after.apply(user.later(10).agentHandsBack(ticketId));
    const afterTicket = await after.apply(user.later(10).writes('hola'));

    expect(sentTexts(duringTicket)).toEqual([]);
    expect(duringTicket.writes.outbox.map((row) => row.kind)).toEqual(['crm.user_message']);
    expect(sentTexts(afterTicket)[0]).toBe(edited);
  });

  test('with no notice configured (the default) nothing is sent and nothing is recorded', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();

    const applied = await runtime.apply(user.writes('hola'));

    expect(sentTexts(applied)).toHaveLength(1);
    expect(runtime.conversations.get(user.phone)).toMatchObject({ privacyNoticeVersion: null, privacyNoticeSentAt: null });
  });
});

describe('the configured notice', () => {
  test('none for an empty text; its version is a digest of the text unless one is given', () => {
    expect(privacyNoticeOf('')).toBeNull();
    expect(privacyNoticeOf('   ')).toBeNull();
    expect(privacyNoticeOf('Aviso A')!.version).toMatch(/^[0-9a-f]{12}$/);
    expect(privacyNoticeOf('Aviso A')!.version).toBe(privacyNoticeOf('Aviso A')!.version);
    expect(privacyNoticeOf('Aviso B')!.version).not.toBe(privacyNoticeOf('Aviso A')!.version);
    expect(privacyNoticeOf('Aviso A', ' 2026-05 ')).toEqual({ text: 'Aviso A', version: '2026-05' });
  });
});
