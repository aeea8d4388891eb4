import { assign, enqueueActions, setup } from 'xstate';
import type { AgentAssignment, CrmAgentMessage, CustomerRecord, InboundMessage, ThreadControl } from '../events';
import type { CloseReason, TicketCategory, TicketPriority, TicketStatus } from '../db/schema';
import { effect } from './effects';
import { isAmbient, isCancelRequest } from './intents';

export interface Agent {
  id: string;
  name: string;
}

export interface HandoverInput {
  ticketId: string;
  phone: string;
  category: TicketCategory;
  priority: TicketPriority;
  customer: CustomerRecord;
  requestedAt: string;
}

export interface HandoverContext extends HandoverInput {
  /** The CRM's tentative pick from the agent-request response: not yet in charge. */
  proposedAgent: AgentAssignment | null;
  agent: Agent | null;
  assignedAt: string | null;
  firstAgentReplyAt: string | null;
  closedAt: string | null;
  closeReason: CloseReason | null;
  lastActivityAt: string;
  /** Messages exchanged between the user and the agent on this ticket, both directions. */
  messageCount: number;
  waitingNoticeSent: boolean;
}

/** Every event carries `at`, the time it was accepted: the machine never reads a clock. */
export type HandoverEvent =
  | { type: 'user.message'; at: string; message: InboundMessage }
  | { type: 'crm.handover.bot_to_human'; at: string; agent: Agent }
  | { type: 'crm.handover.human_to_bot'; at: string }
  | { type: 'crm.message'; at: string; message: CrmAgentMessage }
  | { type: 'crm.agent_request.accepted'; at: string; agent: AgentAssignment | null }
  | { type: 'crm.agent_request.failed'; at: string; error: string }
  | { type: 'meta.thread_control'; at: string; control: ThreadControl };

export const statusOf = (state: string): TicketStatus =>
  state === 'waitingAgent' ? 'pending' : state === 'withAgent' ? 'active' : 'closed';

/**
 * One per ticket: requested (waiting for an agent) → active (an agent owns
 * the conversation, the bot is silent) → closed. The CRM drives it through
 * /api/crm/handover and /api/crm/send-message; the user through WhatsApp.
 */
export const handoverMachine = setup({
  types: {
    context: {} as HandoverContext,
    events: {} as HandoverEvent,
    input: {} as HandoverInput,
  },
  actions: {
    reply: effect<'reply'>(),
    requestAgent: effect<'requestAgent'>(),
    relayToCrm: effect<'relayToCrm'>(),
    deliverAgentMessage: effect<'deliverAgentMessage'>(),
    notifyCrm: effect<'notifyCrm'>(),
    ticketClosed: effect<'ticketClosed'>(),
    recordTicketEvent: effect<'recordTicketEvent'>(),
    logMilestone: effect<'logMilestone'>(),
    touch: assign({ lastActivityAt: ({ event }) => event.at }),
    countMessage: assign({ messageCount: ({ context }) => context.messageCount + 1 }),
    assignAgent: assign({
      agent: ({ event }) => (event.type === 'crm.handover.bot_to_human' ? event.agent : null),
      assignedAt: ({ context, event }) => context.assignedAt ?? event.at,
    }),
    close: assign(({ event }, params: { reason: CloseReason }) => ({ closedAt: event.at, closeReason: params.reason })),
  },
  guards: {
    isAmbientMessage: ({ event }) => event.type === 'user.message' && isAmbient(event.message),
    isCancel: ({ event }) => event.type === 'user.message' && isCancelRequest(event.message),
    waitingNoticeDue: ({ context }) => !context.waitingNoticeSent,
    isSameAgent: ({ context, event }) => event.type === 'crm.handover.bot_to_human' && context.agent?.id === event.agent.id,
    hasEstimate: ({ event }) => event.type === 'crm.agent_request.accepted' && Boolean(event.agent?.estimatedResponseTime),
    controlBackToBot: ({ event }) => event.type === 'meta.thread_control' && !event.control.toCrm,
  },
}).createMachine({
  id: 'handover',
  context: ({ input }) => ({
    ...input,
    proposedAgent: null,
    agent: null,
    assignedAt: null,
    firstAgentReplyAt: null,
    closedAt: null,
    closeReason: null,
    lastActivityAt: input.requestedAt,
    messageCount: 0,
    waitingNoticeSent: false,
  }),
  initial: 'waitingAgent',
  states: {
    waitingAgent: {
      entry: [
        { type: 'recordTicketEvent', params: ({ context }) => ({ type: 'requested', data: { category: context.category, priority: context.priority } }) },
        { type: 'logMilestone', params: { milestone: 'agent_required' } },
        'requestAgent',
        { type: 'reply', params: { text: 'connecting' } },
      ],
      on: {
        'crm.agent_request.accepted': [
          {
            guard: 'hasEstimate',
            actions: [
              assign({ proposedAgent: ({ event }) => event.agent }),
              { type: 'recordTicketEvent', params: ({ event }) => ({ type: 'agent_proposed', data: { ...event.agent } }) },
              { type: 'reply', params: ({ event }) => ({ text: 'agentEstimate', vars: { estimatedResponseTime: event.agent!.estimatedResponseTime! } }) },
            ],
          },
          {
            actions: [
              assign({ proposedAgent: ({ event }) => event.agent }),
              { type: 'recordTicketEvent', params: ({ event }) => ({ type: 'agent_proposed', data: { ...event.agent } }) },
            ],
          },
        ],
        'crm.agent_request.failed': {
          target: 'closed',
          actions: [
            { type: 'close', params: { reason: 'crm_unreachable' } },
            { type: 'recordTicketEvent', params: ({ event }) => ({ type: 'agent_request_failed', data: { error: event.error } }) },
            { type: 'reply', params: { text: 'crmUnreachable' } },
          ],
        },
        'crm.handover.bot_to_human': { target: 'withAgent', actions: ['touch', 'assignAgent'] },
        // The CRM may resolve a ticket before any agent took it.
        'crm.handover.human_to_bot': { target: 'closed', actions: ['touch', { type: 'close', params: { reason: 'resolved' } }] },
        'user.message': [
          { guard: 'isAmbientMessage', actions: ['touch', { type: 'relayToCrm', params: ({ event }) => ({ message: event.message }) }] },
          {
            guard: 'isCancel',
            target: 'closed',
            actions: [
              'touch',
              { type: 'close', params: { reason: 'cancelled' } },
              { type: 'notifyCrm', params: { status: 'closed', reason: 'cancelled' } },
              { type: 'reply', params: ({ context }) => ({ text: 'cancelled', vars: { ticketId: context.ticketId } }) },
            ],
          },
          {
            guard: 'waitingNoticeDue',
            actions: [
              'touch',
              'countMessage',
              { type: 'relayToCrm', params: ({ event }) => ({ message: event.message }) },
              assign({ waitingNoticeSent: true }),
              { type: 'reply', params: ({ context }) => ({ text: 'waitingNotice', vars: { ticketId: context.ticketId } }) },
            ],
          },
          { actions: ['touch', 'countMessage', { type: 'relayToCrm', params: ({ event }) => ({ message: event.message }) }] },
        ],
        'meta.thread_control': { actions: { type: 'recordTicketEvent', params: ({ event }) => ({ type: 'thread_control', data: { ...event.control } }) } },
      },
    },
    withAgent: {
      entry: [
        { type: 'recordTicketEvent', params: ({ context }) => ({ type: 'agent_connected', data: { ...context.agent } }) },
        { type: 'logMilestone', params: { milestone: 'bot_to_human' } },
        { type: 'reply', params: ({ context }) => ({ text: 'agentConnected', vars: { agentName: context.agent!.name } }) },
      ],
      on: {
        'crm.handover.bot_to_human': [
          // The CRM repeating itself (a retry without Idempotency-Key): nothing changes.
          { guard: 'isSameAgent' },
          // Another agent took the ticket over: the user is told who is there now.
          { target: 'withAgent', reenter: true, actions: ['touch', 'assignAgent'] },
        ],
        'user.message': {
          actions: ['touch', 'countMessage', { type: 'relayToCrm', params: ({ event }) => ({ message: event.message }) }],
        },
        'crm.message': {
          actions: [
            'touch',
            'countMessage',
            assign({ firstAgentReplyAt: ({ context, event }) => context.firstAgentReplyAt ?? event.at }),
            {
              type: 'deliverAgentMessage',
              params: ({ event }) => ({
                agentId: event.message.agentId,
                messageType: event.message.messageType,
                body: event.message.message,
                media:
                  event.message.messageType === 'text'
                    ? undefined
                    : { url: event.message.message, caption: event.message.caption, filename: event.message.filename },
              }),
            },
          ],
        },
        'crm.handover.human_to_bot': { target: 'closed', actions: ['touch', { type: 'close', params: { reason: 'resolved' } }] },
        // The agent-request's answer can arrive after the agent already took the ticket: nothing left to do.
        'crm.agent_request.accepted': {},
        'crm.agent_request.failed': {},
        'meta.thread_control': [
          {
            guard: 'controlBackToBot',
            target: 'closed',
            actions: [
              'touch',
              { type: 'recordTicketEvent', params: ({ event }) => ({ type: 'thread_control', data: { ...event.control } }) },
              { type: 'close', params: { reason: 'resolved' } },
            ],
          },
          { actions: { type: 'recordTicketEvent', params: ({ event }) => ({ type: 'thread_control', data: { ...event.control } }) } },
        ],
      },
    },
    closed: {
      type: 'final',
      entry: enqueueActions(({ context, enqueue }) => {
        enqueue({ type: 'recordTicketEvent', params: { type: 'closed', data: { reason: context.closeReason } } });
        if (context.closeReason === 'resolved') {
          enqueue({ type: 'logMilestone', params: { milestone: 'human_to_bot' } });
          enqueue({ type: 'reply', params: { text: 'resolved' } });
        }
        enqueue({ type: 'ticketClosed', params: { reason: context.closeReason! } });
      }),
    },
  },
});

export type HandoverMachine = typeof handoverMachine;
