import { describe, expect, test } from 'bun:test';
import { firstReadsOf, ticketsToRead } from '../../../../src/actors/runtime/reads';
import type { SentMessage } from '../../../../src/db/runtime-store';
import type { ConversationRow } from '../../../../src/db/schema';
import type { InboundMessage, PipelineEvent } from '../../../../src/domain/events';
import { UserScript } from './user-script';

/** What a batch asks the store for, decided from its events before anything is loaded. */

const stored = (phone: string, context: Record<string, unknown>) => ({ phone, snapshot: { value: 'inTicket', context } }) as unknown as ConversationRow;
const agentMessage = (ticketId: string) => ({ id: 1, author: 'agent', ticketId }) as SentMessage;

describe('the first reads', () => {
  test("name every conversation once, the messages replies and reactions point at, and what statuses name", () => {
    const [ana, beto] = [new UserScript(), new UserScript()];
    const reply = ana.writes('sí');
    (reply.data as InboundMessage).replyTo = 'wamid.agent.1';
    const reaction = ana.writes('👍');
    (reaction.data as InboundMessage).reaction = { waMessageId: 'wamid.agent.2', emoji: '👍' };
    const events: PipelineEvent[] = [
      reply,
      reaction,
      ana.writes('otra'),
      beto.whatsappReports('wamid.out.1', 'read', 'key#0'),
      beto.whatsappReports('wamid.out.2', 'sent'),
    ];

    expect(firstReadsOf(events)).toEqual({
      keys: [ana.phone, beto.phone],
      repliedTo: ['wamid.agent.1', 'wamid.agent.2'],
      statusWamids: ['wamid.out.1', 'wamid.out.2'],
      statusCallbacks: ['key#0'],
    });
  });

  test('a batch with no reply and no status reads no message', () => {
    const user = new UserScript();
    expect(firstReadsOf([user.writes('hola')])).toMatchObject({ repliedTo: [], statusWamids: [], statusCallbacks: [] });
  });
});

describe('the tickets to read', () => {
  test("are the conversations' (open and surveyed) and those the fresh events name", () => {
    const user = new UserScript();
    const conversations = [stored(user.phone, { ticketId: 'TK-1', surveyTicketId: 'TK-0' }), stored('other', { ticketId: null, surveyTicketId: null })];
    expect(ticketsToRead({ conversations, sentMessages: [] }, [user.agentWrites('TK-7', 'hola')]).sort()).toEqual(['TK-0', 'TK-1', 'TK-7']);
  });

  test("include an agent message's ticket only when a status in the batch failed", () => {
    const user = new UserScript();
    const first = { conversations: [], sentMessages: [agentMessage('TK-9')] };
    expect(ticketsToRead(first, [user.whatsappReports('wamid.1', 'read')])).toEqual([]);
    expect(ticketsToRead(first, [user.whatsappReports('wamid.1', 'failed', undefined, 131026)])).toEqual(['TK-9']);
  });
});

describe('what the first reads leave out', () => {
  test("an echo's edit or revoke is not a reply: the message it names is not read for the batch", () => {
    const user = new UserScript();
    const echo = {
      type: 'whatsapp.echo',
      key: user.phone,
      id: 'wa:echo:1',
      at: user.now,
      data: { user: { phone: user.phone }, waMessageId: 'wamid.e1', timestamp: user.now, type: 'edit', source: 'business_app', edit: { waMessageId: 'wamid.e0', type: 'text' } },
    } as PipelineEvent;
    expect(firstReadsOf([echo])).toEqual({ keys: [user.phone], repliedTo: [], statusWamids: [], statusCallbacks: [] });
  });

  test("a user's edit and revoke name the messages they change", () => {
    const user = new UserScript();
    const edit = user.writes('corrijo');
    (edit.data as InboundMessage).edit = { waMessageId: 'wamid.in.1', type: 'text', text: 'corrijo' };
    const revoke = user.writes('');
    (revoke.data as InboundMessage).revoke = { waMessageId: 'wamid.in.2' };
    expect(firstReadsOf([edit, revoke]).repliedTo).toEqual(['wamid.in.1', 'wamid.in.2']);
  });
});

describe('the tickets a batch does not read', () => {
  test("a conversation's own deadline names no ticket, even with an empty ticketId", () => {
    const user = new UserScript();
    const survey = { ...user.deadlineFires('', 'survey', user.now), data: { timer: 'survey', dueAt: user.now, ticketId: undefined } } as PipelineEvent;
    expect(ticketsToRead({ conversations: [], sentMessages: [] }, [survey])).toStrictEqual([]);
  });

  test("on a failed status beside other events, only agents' messages with a ticket are read, not the bot's", () => {
    const user = new UserScript();
    const botMessage = { id: 2, author: 'bot', ticketId: 'TK-5' } as SentMessage;
    const noTicket = { id: 3, author: 'agent', ticketId: null } as SentMessage;
    const first = { conversations: [], sentMessages: [agentMessage('TK-9'), botMessage, noTicket] };
    expect(ticketsToRead(first, [user.writes('hola'), user.whatsappReports('wamid.1', 'failed', undefined, 131026)])).toEqual(['TK-9']);
  });
});
