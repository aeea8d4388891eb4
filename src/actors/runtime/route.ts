import type { UserIds } from '../../domain/user-ids';
import { botSilence, OPEN_VOICE, type BotVoice, type Silence } from '../../domain/bot-voice';
import type { EchoMessage, HistoryMessage, PipelineEvent, StatusUpdate } from '../../domain/events';
import type { ConversationEvent, ConversationTimer } from '../conversation';
import type { Deadlines } from '../deadlines';
import type { HandoverEvent, HandoverTimer } from '../handover';

/** Where one pipeline event goes. */
export type Route =
  | { to: 'conversation'; event: ConversationEvent }
  | { to: 'ticket'; ticketId: string; event: HandoverEvent }
  | { to: 'status'; update: StatusUpdate }
  | { to: 'ids'; ids: UserIds }
  /** What the business sent without us (Business app, another responder): the history, and the open ticket's agent. */
  | { to: 'echo'; echo: EchoMessage; ticketId: string | null }
  | { to: 'history'; message: HistoryMessage }
  /** A user's message the bot must not answer (another responder owns the thread, a person is answering): history only. */
  | { to: 'quiet'; reason: Silence }
  | { to: 'nowhere'; reason: 'stale_timer' | 'no_ticket' };

/** What routing needs to know of the actors the batch has loaded (none is created by asking). */
export interface LoadedActors {
  conversation(key: string): { ticketId: string | null; deadlines: Deadlines<string>; voice: BotVoice } | undefined;
  ticket(ticketId: string): { open: boolean; deadlines: Deadlines<string> } | undefined;
}

/** The ticket that owns the user's messages: their conversation's, while it is open. */
export function openTicketOf(actors: LoadedActors, conversationKey: string): string | null {
  const ticketId = actors.conversation(conversationKey)?.ticketId;
  return ticketId && actors.ticket(ticketId)?.open ? ticketId : null;
}

/**
 * A firing acts only if the deadline is still armed at that time: the
 * scheduler may deliver it twice (a crash before it marked the row, two
 * instances), or after the machine moved on.
 */
export function isStaleFiring(actors: LoadedActors, conversationKey: string, fired: { timer: string; dueAt: string; ticketId?: string }): boolean {
  const deadlines = fired.ticketId ? actors.ticket(fired.ticketId)?.deadlines : actors.conversation(conversationKey)?.deadlines;
  return deadlines?.[fired.timer] !== fired.dueAt;
}

export function route(event: PipelineEvent, actors: LoadedActors): Route {
  const { at } = event;
  switch (event.type) {
    case 'user.message': {
      // While a ticket is open its handover machine owns the user's messages: the bot stays silent, the agent sees them.
      const ticketId = openTicketOf(actors, event.key);
      const message = { type: 'user.message', at, message: event.data } as const;
      if (ticketId) return { to: 'ticket', ticketId, event: message };
      const silence = botSilence(actors.conversation(event.key)?.voice ?? OPEN_VOICE, at);
      return silence ? { to: 'quiet', reason: silence } : { to: 'conversation', event: message };
    }
    case 'whatsapp.echo':
      return { to: 'echo', echo: event.data, ticketId: openTicketOf(actors, event.key) };
    case 'whatsapp.history':
      return { to: 'history', message: event.data };
    case 'whatsapp.call': {
      // A call leaves its trace on the user's open ticket; without one there is no one to tell.
      const ticketId = openTicketOf(actors, event.key);
      return ticketId ? { to: 'ticket', ticketId, event: { type: 'whatsapp.call', at, call: event.data } } : { to: 'nowhere', reason: 'no_ticket' };
    }
    case 'whatsapp.status':
      return { to: 'status', update: event.data };
    case 'user.id_changed':
      // The key stays (the partition must not move); the new BSUID is what the user is written to from now on.
      return { to: 'ids', ids: { bsuid: event.data.bsuid, ...(event.data.phone ? { phone: event.data.phone } : {}) } };
    case 'crm.handover': {
      const { ticketId, handoverType, agentId, agentName } = event.data;
      return {
        to: 'ticket',
        ticketId,
        event:
          handoverType === 'bot_to_human'
            ? { type: 'crm.handover.bot_to_human', at, agent: { id: agentId ?? '', name: agentName ?? agentId ?? '' } }
            : { type: 'crm.handover.human_to_bot', at },
      };
    }
    case 'crm.message':
      return { to: 'ticket', ticketId: event.data.ticketId, event: { type: 'crm.message', at, message: event.data } };
    case 'crm.typing':
    case 'crm.read':
      return { to: 'ticket', ticketId: event.data.ticketId, event: { type: event.type, at, presence: event.data } };
    case 'whatsapp.thread_control.refused':
      return { to: 'ticket', ticketId: event.data.ticketId, event: { type: 'whatsapp.thread_control.refused', at, refusal: event.data } };
    case 'meta.thread_control': {
      const ticketId = event.data.ticketId ?? actors.conversation(event.key)?.ticketId;
      if (!ticketId) return { to: 'nowhere', reason: 'no_ticket' };
      return { to: 'ticket', ticketId, event: { type: 'meta.thread_control', at, control: event.data } };
    }
    case 'crm.agent_request.result': {
      const { ticketId, outcome, agentAssigned, error } = event.data;
      return {
        to: 'ticket',
        ticketId,
        event:
          outcome === 'accepted'
            ? { type: 'crm.agent_request.accepted', at, agent: agentAssigned ?? null, queuePosition: event.data.queuePosition ?? null }
            : { type: 'crm.agent_request.failed', at, error: error ?? 'unknown error' },
      };
    }
    case 'customer.lookup.result':
      return { to: 'conversation', event: { type: 'customer.lookup.completed', at, result: event.data } };
    case 'whatsapp.agent_message.failed':
      return { to: 'ticket', ticketId: event.data.ticketId, event: { type: 'whatsapp.agent_message.failed', at, failure: event.data } };
    case 'timer.fired': {
      const fired = event.data;
      if (isStaleFiring(actors, event.key, fired)) return { to: 'nowhere', reason: 'stale_timer' };
      return fired.ticketId
        ? { to: 'ticket', ticketId: fired.ticketId, event: { type: 'timer.fired', at, timer: fired.timer as HandoverTimer, dueAt: fired.dueAt } }
        : { to: 'conversation', event: { type: 'timer.fired', at, timer: fired.timer as ConversationTimer, dueAt: fired.dueAt } };
    }
  }
}
