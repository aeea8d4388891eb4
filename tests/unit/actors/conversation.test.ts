import { describe, expect, test } from 'bun:test';
import type { CustomerLookupResult, InboundMessage } from '../../../src/domain/events';
import { REPLY_IDS } from '../../../src/actors/intents';
import { at, MONDAY_10AM_BOGOTA, simulateConversation, TICKET } from '../../support/simulated-clock';

const T0 = MONDAY_10AM_BOGOTA;
const SURVEY_TIMEOUT_S = 300;
const DOCUMENT = '1010101010';
const ACTIVE = { customerId: 'C-200', customerName: 'Ana Gómez', isInactive: false };
const SUSPENDED = { customerId: 'C-100', customerName: 'Juan Pérez', isInactive: true };

let sequence = 0;
const message = (fields: Partial<InboundMessage>): InboundMessage => ({
  user: { phone: TICKET.conversationKey },
  waMessageId: `wamid.${++sequence}`,
  timestamp: T0,
  type: 'text',
  ...fields,
});
const says = (text: string) => ({ type: 'user.message' as const, message: message({ text }) });
const taps = (replyId: string, title: string) => ({ type: 'user.message' as const, message: message({ type: 'interactive', replyId, text: title }) });
const lookedUp = (result: Omit<CustomerLookupResult, 'document'>, document = DOCUMENT) => ({
  type: 'customer.lookup.completed' as const,
  result: { document, ...result },
});

/** A user who greeted the bot and now sees the menu. */
function atTheMenu() {
  const conversation = simulateConversation(SURVEY_TIMEOUT_S);
  conversation.send({ type: 'user.message', message: message({ text: 'Hola', profileName: 'Ana' }) });
  return conversation;
}

/** A user who asked for support and was asked for their document. */
function askedForDocument() {
  const conversation = atTheMenu();
  conversation.send(says('soporte'));
  return conversation;
}

/** An authenticated user whose ticket is open. */
function inTicket() {
  const conversation = askedForDocument();
  conversation.send(says(DOCUMENT));
  conversation.send(lookedUp({ outcome: 'found', customer: ACTIVE }));
  conversation.send({ type: 'ticket.opened', ticketId: TICKET.ticketId });
  return conversation;
}

describe('the menu', () => {
  test('the first message is greeted with the menu, by the profile name', () => {
    const conversation = atTheMenu();
    expect(conversation.value).toBe('menu');
    expect(conversation.effects('showMenu')).toEqual([{ greeting: true, notUnderstood: false, profileName: 'Ana' }]);
  });

  test('a reaction or an edit is not a turn: the bot stays silent', () => {
    const conversation = simulateConversation(SURVEY_TIMEOUT_S);
    expect(conversation.send({ type: 'user.message', message: message({ type: 'reaction', text: '👍' }) })).toEqual([]);
    expect(conversation.value).toBe('new');
  });

  test('what it does not understand shows the menu again, saying so', () => {
    const conversation = atTheMenu();
    expect(conversation.send(says('quiero pizza'))).toEqual([{ type: 'showMenu', params: { greeting: false, notUnderstood: true } }]);
  });

  test('the emergency option gives the emergency number', () => {
    const conversation = atTheMenu();
    expect(conversation.send(taps(REPLY_IDS.emergency, 'Emergencia'))).toEqual([{ type: 'reply', params: { text: 'emergency' } }]);
    expect(conversation.value).toBe('menu');
  });
});

describe('authentication for support', () => {
  test('support, typed or tapped, asks for the document', () => {
    for (const choice of [says('soporte'), taps(REPLY_IDS.support, 'Soporte')]) {
      const conversation = atTheMenu();
      expect(conversation.send(choice)).toEqual([{ type: 'reply', params: { text: 'askDocument' } }]);
      expect(conversation.snapshot.matches({ authenticating: 'awaitingDocument' })).toBe(true);
    }
  });

  test('a document, dots and all, is looked up (naming the message that carried it, to be stored masked); while it is, the user is told to wait', () => {
    const conversation = askedForDocument();
    const typed = says('1.010.101.010');
    expect(conversation.send(typed)).toEqual([{ type: 'lookupCustomer', params: { document: DOCUMENT, typedIn: typed.message.waMessageId } }]);
    expect(conversation.send(says('¿hola?'))).toEqual([{ type: 'reply', params: { text: 'verifying' } }]);
  });

  test('an active customer gets a general-support ticket of medium priority', () => {
    const conversation = askedForDocument();
    conversation.send(says(DOCUMENT));
    expect(conversation.send(lookedUp({ outcome: 'found', customer: ACTIVE }))).toEqual([
      { type: 'reply', params: { text: 'authenticated', vars: { customerName: 'Ana Gómez' } } },
      { type: 'openTicket', params: { category: 'soporte_agente', priority: 'media' } },
    ]);
    expect(conversation.value).toBe('inTicket');
  });

  test('a suspended customer goes to the reactivation specialists with high priority', () => {
    const conversation = askedForDocument();
    conversation.send(says(DOCUMENT));
    conversation.send(lookedUp({ outcome: 'found', customer: SUSPENDED }));
    expect(conversation.effects('openTicket')).toEqual([{ category: 'reactivacion_servicio', priority: 'alta' }]);
  });

  test('an authenticated user asking for support again gets a ticket without a second lookup', () => {
    const conversation = askedForDocument();
    conversation.send(says(DOCUMENT));
    conversation.send(lookedUp({ outcome: 'found', customer: ACTIVE }));
    conversation.send({ type: 'ticket.opened', ticketId: TICKET.ticketId });
    conversation.send({ type: 'ticket.closed', ticketId: TICKET.ticketId, reason: 'fallback' });

    expect(conversation.send(says('soporte'))).toEqual([{ type: 'openTicket', params: { category: 'soporte_agente', priority: 'media' } }]);
    expect(conversation.effects('lookupCustomer')).toHaveLength(1);
    expect(conversation.value).toBe('inTicket');
  });

  test('three documents not found: the emergency number, back to the menu, and the count starts over', () => {
    const conversation = askedForDocument();
    for (const remaining of [2, 1]) {
      conversation.send(says(DOCUMENT));
      expect(conversation.send(lookedUp({ outcome: 'not_found' }))).toEqual([{ type: 'reply', params: { text: 'documentNotFound', vars: { remaining } } }]);
    }
    conversation.send(says(DOCUMENT));
    expect(conversation.send(lookedUp({ outcome: 'not_found' }))).toEqual([
      { type: 'reply', params: { text: 'authFailed' } },
      { type: 'showMenu', params: { greeting: false, notUnderstood: false } },
    ]);
    expect(conversation.value).toBe('menu');
    expect(conversation.snapshot.context.authAttempts).toBe(0);
  });

  test('three tries that are not documents: the emergency number, and the next request for support starts over', () => {
    const conversation = askedForDocument();
    conversation.send(says('no sé'));
    conversation.send(says('tampoco'));
    expect(conversation.send(says('nada'))).toEqual([
      { type: 'reply', params: { text: 'authFailed' } },
      { type: 'showMenu', params: { greeting: false, notUnderstood: false } },
    ]);
    expect(conversation.snapshot.context).toMatchObject({ authAttempts: 0, intent: null, pendingDocument: null });
  });

  test('what is not a document counts as a try too', () => {
    const conversation = askedForDocument();
    expect(conversation.send(says('no sé'))).toEqual([{ type: 'reply', params: { text: 'documentInvalid', vars: { remaining: 2 } } }]);
    conversation.send(says(DOCUMENT));
    conversation.send(lookedUp({ outcome: 'not_found' }));
    expect(conversation.send(says('tampoco'))).toContainEqual({ type: 'reply', params: { text: 'authFailed' } });
    expect(conversation.value).toBe('menu');
  });

  test('a directory that cannot answer is not counted against the user: the emergency number instead', () => {
    const conversation = askedForDocument();
    conversation.send(says(DOCUMENT));
    expect(conversation.send(lookedUp({ outcome: 'failed', error: 'timeout' }))).toEqual([
      { type: 'reply', params: { text: 'lookupUnavailable' } },
      { type: 'showMenu', params: { greeting: false, notUnderstood: false } },
    ]);
    expect(conversation.value).toBe('menu');
    expect(conversation.snapshot.context).toMatchObject({ authAttempts: 0, intent: null, pendingDocument: null });
  });

  test('a late answer about an earlier document is ignored', () => {
    const conversation = askedForDocument();
    conversation.send(says(DOCUMENT));
    expect(conversation.send(lookedUp({ outcome: 'found', customer: ACTIVE }, '999999999'))).toEqual([]);
    expect(conversation.snapshot.matches({ authenticating: 'verifying' })).toBe(true);
  });

  test('"cancelar" while asked for the document goes back to the menu', () => {
    const conversation = askedForDocument();
    conversation.send(says('no sé'));
    expect(conversation.send(says('Cancelar'))).toEqual([{ type: 'showMenu', params: { greeting: false, notUnderstood: false } }]);
    expect(conversation.value).toBe('menu');
    expect(conversation.snapshot.context).toMatchObject({ authAttempts: 0, intent: null });
  });
});

describe('identification only', () => {
  test('a customer found is greeted by name and stays at the menu, without a ticket', () => {
    const conversation = atTheMenu();
    expect(conversation.send(says('2'))).toEqual([{ type: 'reply', params: { text: 'askDocument' } }]);
    expect(conversation.snapshot.context.intent).toBe('identify');
    conversation.send(says('no sé'));
    conversation.send(says(DOCUMENT));
    expect(conversation.send(lookedUp({ outcome: 'found', customer: ACTIVE }))).toEqual([
      { type: 'reply', params: { text: 'authenticated', vars: { customerName: 'Ana Gómez' } } },
      { type: 'showMenu', params: { greeting: false, notUnderstood: false } },
    ]);
    expect(conversation.snapshot.context).toMatchObject({ customer: ACTIVE, authAttempts: 0, intent: null, pendingDocument: null });
    expect(conversation.value).toBe('menu');
    expect(conversation.effects('openTicket')).toEqual([]);
    expect(conversation.send(says('identificarme'))).toEqual([
      { type: 'reply', params: { text: 'alreadyIdentified', vars: { customerName: 'Ana Gómez' } } },
      { type: 'showMenu', params: { greeting: false, notUnderstood: false } },
    ]);
  });
});

describe('from authentication to the survey', () => {
  test('a ticket the agent resolves is followed by the survey; the rating is recorded', () => {
    const conversation = askedForDocument();
    conversation.send(says(DOCUMENT));
    conversation.send(lookedUp({ outcome: 'found', customer: ACTIVE }));
    conversation.send({ type: 'ticket.opened', ticketId: TICKET.ticketId });
    conversation.advance(600);

    expect(conversation.send({ type: 'ticket.closed', ticketId: TICKET.ticketId, reason: 'resolved' })).toEqual([
      { type: 'offerSurvey', params: { ticketId: TICKET.ticketId } },
    ]);
    expect(conversation.context.deadlines.survey).toBe(at(T0, 600 + SURVEY_TIMEOUT_S));
    conversation.send(taps(`${REPLY_IDS.csatPrefix}5`, 'Excelente'));
    expect(conversation.effects('recordCsat')).toEqual([{ ticketId: TICKET.ticketId, score: 5 }]);
    expect(conversation.value).toBe('menu');
  });

  test('a ticket closed for any reason but the window shows the menu at once; one closed past the window waits for the user', () => {
    for (const reason of ['cancelled', 'crm_unreachable', 'fallback', 'abandoned', 'out_of_hours'] as const) {
      const conversation = inTicket();
      expect(conversation.send({ type: 'ticket.closed', ticketId: TICKET.ticketId, reason })).toEqual([
        { type: 'showMenu', params: { greeting: false, notUnderstood: false } },
      ]);
      expect(conversation.value).toBe('menu');
      expect(conversation.context.ticketId).toBeNull();
    }
    // WhatsApp refuses a free-form message outside the window: the bot may not write first.
    const conversation = inTicket();
    expect(conversation.send({ type: 'ticket.closed', ticketId: TICKET.ticketId, reason: 'window_expired' })).toEqual([]);
    expect(conversation.value).toBe('menu');
    expect(conversation.context.ticketId).toBeNull();
    expect(conversation.send(says('1'))).toEqual([{ type: 'openTicket', params: { category: 'soporte_agente', priority: 'media' } }]);
  });

  test("another ticket's closing does not end this one", () => {
    const conversation = askedForDocument();
    conversation.send(says(DOCUMENT));
    conversation.send(lookedUp({ outcome: 'found', customer: ACTIVE }));
    conversation.send({ type: 'ticket.opened', ticketId: TICKET.ticketId });
    expect(conversation.send({ type: 'ticket.closed', ticketId: 'TK-2026-000001', reason: 'resolved' })).toEqual([]);
    expect(conversation.value).toBe('inTicket');
  });
});
