import { and, assign, enqueueActions, not, setup } from 'xstate';
import type { AgentAssignment, AgentMessageFailure, AgentMessageType, CrmAgentMessage, CustomerRecord, InboundMessage, ThreadControl } from '../events';
import type { CloseReason, TicketCategory, TicketPriority, TicketStatus } from '../db/schema';
import type { BusinessCalendar } from '../business-hours';
import { effect, type EffectParams } from './effects';
import { isAmbient, isCancelRequest } from './intents';
import { addSeconds, deadlineDue, type Deadlines } from './deadlines';
import { agentMessageDelivery } from './window';

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

/**
 * The deadlines a ticket keeps. Each is a due time in the context: the
 * runtime stores it in the `timers` table and feeds a `timer.fired` event
 * back when it is due (XState's `after` timers do not survive a restart).
 */
export type HandoverTimer = 'assign' | 'queueUpdate' | 'abandon' | 'agentReply' | 'idle';

/** The lifecycle rules' knobs (DESIGN 4), from configuration. */
export interface HandoverPolicy {
  assignTimeoutS: number;
  maxEscalations: number;
  supervisorQueue: boolean;
  agentReplyTimeoutS: number;
  queueUpdateIntervalS: number;
  userAbandonTimeoutS: number;
  /** WhatsApp's customer-service window. */
  windowS: number;
  /** Whether an agent's message outside the window goes out as the configured template (else it is refused). */
  reengageTemplate: boolean;
  outOfHoursQueue: boolean;
  calendar: BusinessCalendar;
}

export interface HandoverContext extends HandoverInput {
  /** The CRM's tentative pick from the agent-request response: not yet in charge. */
  proposedAgent: AgentAssignment | null;
  queuePosition: number | null;
  agent: Agent | null;
  assignedAt: string | null;
  firstAgentReplyAt: string | null;
  closedAt: string | null;
  closeReason: CloseReason | null;
  lastActivityAt: string;
  /** The start of WhatsApp's 24-hour window: only within it may an agent write free-form. */
  lastUserMessageAt: string;
  /** Messages exchanged between the user and the agent on this ticket, both directions. */
  messageCount: number;
  waitingNoticeSent: boolean;
  /** Steps climbed on the escalation ladder in the current phase (waiting, then with an agent). */
  ladderStep: number;
  /** Escalations over the ticket's whole life, for the KPIs. */
  escalations: number;
  supervisorQueued: boolean;
  agentReminded: boolean;
  deadlines: Deadlines<HandoverTimer>;
}

/** Every event carries `at`, the time it was accepted: the machine never reads a clock. */
export type HandoverEvent =
  | { type: 'user.message'; at: string; message: InboundMessage }
  | { type: 'crm.handover.bot_to_human'; at: string; agent: Agent }
  | { type: 'crm.handover.human_to_bot'; at: string }
  | { type: 'crm.message'; at: string; message: CrmAgentMessage }
  | { type: 'crm.agent_request.accepted'; at: string; agent: AgentAssignment | null; queuePosition: number | null }
  | { type: 'crm.agent_request.failed'; at: string; error: string }
  | { type: 'meta.thread_control'; at: string; control: ThreadControl }
  | { type: 'timer.fired'; at: string; timer: HandoverTimer; dueAt: string }
  | { type: 'whatsapp.agent_message.failed'; at: string; failure: AgentMessageFailure };

/**
 * A closed ticket is not a final state: WhatsApp can still refuse, after the
 * agent gave the ticket back, a message the agent wrote before, and the
 * machine must still decide what becomes of it.
 */
export const isClosed = (state: unknown): boolean => state === 'closed';

export const statusOf = (state: string): TicketStatus => (state === 'waitingAgent' ? 'pending' : state === 'withAgent' ? 'active' : 'closed');

/** What the ticket is doing within its status, for the status endpoint and the dashboards. */
export function phaseOf(state: string, context: HandoverContext): string {
  if (state === 'closed') return 'closed';
  if (context.supervisorQueued) return 'supervisor_queue';
  if (context.ladderStep > 0) return 'escalated';
  if (state === 'withAgent') return context.agentReminded ? 'agent_reminded' : 'with_agent';
  return 'waiting_agent';
}

/** The deadlines that climb the escalation ladder when they fire: no agent yet, or an agent gone silent. */
type LadderTimer = 'assign' | 'agentReply';
type LadderRung = 'escalate' | 'supervisor' | 'fallback';

/**
 * The escalation ladder, the same for both phases: re-request with a higher
 * priority (HANDOVER_MAX_ESCALATIONS times), then the supervisor queue when
 * configured, then the emergency-number fallback.
 */
const ladder = <T extends LadderTimer>(timer: T, status: 'pending' | 'active') =>
  [
    {
      guard: { type: 'ladderRung', params: { timer, rung: 'escalate' } },
      actions: [
        { type: 'climbLadder', params: { timer, to: 'escalated' } },
        {
          type: 'recordTicketEvent',
          params: ({ context }: { context: HandoverContext }) => ({ type: 'escalated', data: { step: context.ladderStep, priority: context.priority, timer } }),
        },
        { type: 'notifyCrm', params: { status, reason: 'escalated' } },
      ],
    },
    {
      guard: { type: 'ladderRung', params: { timer, rung: 'supervisor' } },
      actions: [
        { type: 'climbLadder', params: { timer, to: 'supervisor_queue' } },
        { type: 'recordTicketEvent', params: { type: 'supervisor_queue', data: { timer } } },
        { type: 'notifyCrm', params: { status, reason: 'supervisor_queue' } },
      ],
    },
    { guard: { type: 'ladderRung', params: { timer, rung: 'fallback' } }, target: '#handover.closed', actions: closeAndNotify('fallback') },
  ] as const;

/** The bot closes the ticket on its own: the CRM has to hear it. */
const closeAndNotify = <R extends CloseReason>(reason: R) =>
  [
    { type: 'close', params: { reason } },
    { type: 'notifyCrm', params: { status: 'closed', reason } },
  ] as const;

/**
 * When the user wrote: WhatsApp's window runs from there, not from when the
 * webhook reached us (Meta redelivers for days). Never later than receipt.
 */
function writtenAt(message: InboundMessage, receivedAt: string): string {
  const written = Date.parse(message.timestamp);
  return Number.isFinite(written) && written < Date.parse(receivedAt) ? new Date(written).toISOString() : receivedAt;
}

const AGENT_MESSAGE_TYPES = new Set<string>(['text', 'image', 'document'] satisfies AgentMessageType[]);
const agentMessageType = (type: string): AgentMessageType => (AGENT_MESSAGE_TYPES.has(type) ? (type as AgentMessageType) : 'text');

const ESCALATED_PRIORITY: Record<TicketPriority, TicketPriority> = { baja: 'media', media: 'alta', alta: 'alta' };

/**
 * One per ticket: waiting for an agent → with an agent (the bot is silent) →
 * closed. The CRM drives it through /api/crm/handover and
 * /api/crm/send-message, the user through WhatsApp, and its own deadlines
 * through `timer.fired`. Pure: built from the policy, it reads no clock.
 */
export function createHandoverMachine(policy: HandoverPolicy) {
  /** Waiting deadlines count from the desk's next opening: a ticket queued at night is not escalated before morning. */
  const fromOpening = (at: string) => policy.calendar.nextOpening(at) ?? at;
  const deliveryOf = (context: HandoverContext, at: string) => agentMessageDelivery(policy, context.lastUserMessageAt, at);

  const rungOf = (context: HandoverContext): LadderRung =>
    context.ladderStep < policy.maxEscalations ? 'escalate' : policy.supervisorQueue && !context.supervisorQueued ? 'supervisor' : 'fallback';

  /** Where a re-armed ladder deadline counts from: a waiting ticket's from the desk's opening, an active one's from now. */
  const ladderDelay = { assign: policy.assignTimeoutS, agentReply: policy.agentReplyTimeoutS };
  const rearm = (timer: LadderTimer, at: string) => addSeconds(timer === 'assign' ? fromOpening(at) : at, ladderDelay[timer]);

  return setup({
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
      reportAgentMessageFailed: effect<'reportAgentMessageFailed'>(),
      notifyCrm: effect<'notifyCrm'>(),
      ticketClosed: effect<'ticketClosed'>(),
      recordTicketEvent: effect<'recordTicketEvent'>(),
      logMilestone: effect<'logMilestone'>(),
      touch: assign({ lastActivityAt: ({ event }) => event.at }),
      countMessage: assign({ messageCount: ({ context }) => context.messageCount + 1 }),
      /** The user spoke: the 24-hour window and the idle deadline start again; while waiting, so does abandonment. */
      userSpoke: assign(({ context, event }) => {
        const wroteAt = event.type === 'user.message' ? writtenAt(event.message, event.at) : event.at;
        return {
          lastUserMessageAt: wroteAt,
          deadlines: {
            ...context.deadlines,
            idle: addSeconds(wroteAt, policy.windowS),
            ...(context.deadlines.abandon ? { abandon: addSeconds(fromOpening(event.at), policy.userAbandonTimeoutS) } : {}),
            // The agent owes an answer from the first unanswered message, not the last one.
            ...(context.agent ? { agentReply: context.deadlines.agentReply ?? addSeconds(event.at, policy.agentReplyTimeoutS) } : {}),
          },
        };
      }),
      agentSpoke: assign(({ context, event }) => {
        const { agentReply: _answered, ...deadlines } = context.deadlines;
        return {
          firstAgentReplyAt: context.firstAgentReplyAt ?? event.at,
          agentReminded: false,
          ladderStep: 0,
          supervisorQueued: false,
          deadlines: { ...deadlines, idle: addSeconds(event.at, policy.windowS) },
        };
      }),
      assignAgent: assign({
        agent: ({ event }) => (event.type === 'crm.handover.bot_to_human' ? event.agent : null),
        assignedAt: ({ context, event }) => context.assignedAt ?? event.at,
      }),
      close: assign(({ event }, params: { reason: CloseReason }) => ({ closedAt: event.at, closeReason: params.reason, deadlines: {} })),
      /** One step up the escalation ladder: a re-request with a higher priority, or the supervisor's queue. */
      climbLadder: assign(({ context, event }, params: { timer: LadderTimer; to: 'escalated' | 'supervisor_queue' }) => ({
        ladderStep: context.ladderStep + 1,
        ...(params.to === 'escalated' ? { escalations: context.escalations + 1, priority: ESCALATED_PRIORITY[context.priority] } : { supervisorQueued: true }),
        deadlines: { ...context.deadlines, [params.timer]: rearm(params.timer, event.at) },
      })),
    },
    guards: {
      isAmbientMessage: ({ event }) => event.type === 'user.message' && isAmbient(event.message),
      isCancel: ({ event }) => event.type === 'user.message' && isCancelRequest(event.message),
      waitingNoticeDue: ({ context }) => !context.waitingNoticeSent,
      isSameAgent: ({ context, event }) => event.type === 'crm.handover.bot_to_human' && context.agent?.id === event.agent.id,
      hasEstimate: ({ event }) => event.type === 'crm.agent_request.accepted' && Boolean(event.agent?.estimatedResponseTime),
      controlBackToBot: ({ event }) => event.type === 'meta.thread_control' && !event.control.toCrm,
      queueUpdateDue: ({ context, event }) => deadlineDue(context.deadlines, event, 'queueUpdate'),
      abandonDue: ({ context, event }) => deadlineDue(context.deadlines, event, 'abandon'),
      agentReplyDue: ({ context, event }) => deadlineDue(context.deadlines, event, 'agentReply'),
      idleDue: ({ context, event }) => deadlineDue(context.deadlines, event, 'idle'),
      /** Which rung of the ladder a fired deadline lands on: a re-request, the supervisor queue, or the fallback. */
      ladderRung: ({ context, event }, params: { timer: LadderTimer; rung: LadderRung }) =>
        deadlineDue(context.deadlines, event, params.timer) && rungOf(context) === params.rung,
      outOfHoursAndNotQueued: ({ context }) => !policy.outOfHoursQueue && !policy.calendar.isOpen(context.requestedAt),
      agentReminded: ({ context }) => context.agentReminded,
      agentMessageRefused: ({ context, event }) => deliveryOf(context, event.at) === 'refused',
      /** Past the window a free-form message is refused by WhatsApp; the same words may still go out as the template. */
      mayResendAsTemplate: ({ event }) =>
        event.type === 'whatsapp.agent_message.failed' &&
        event.failure.reason === 'outside_window' &&
        event.failure.sentAs === 'free_form' &&
        policy.reengageTemplate,
    },
  }).createMachine({
    id: 'handover',
    context: ({ input }) => ({
      ...input,
      proposedAgent: null,
      queuePosition: null,
      agent: null,
      assignedAt: null,
      firstAgentReplyAt: null,
      closedAt: null,
      closeReason: null,
      lastActivityAt: input.requestedAt,
      lastUserMessageAt: input.requestedAt,
      messageCount: 0,
      waitingNoticeSent: false,
      ladderStep: 0,
      escalations: 0,
      supervisorQueued: false,
      agentReminded: false,
      deadlines: {},
    }),
    initial: 'requested',
    on: {
      // In every state, closed included: the message was written while an agent had the ticket.
      'whatsapp.agent_message.failed': [
        {
          guard: 'mayResendAsTemplate',
          actions: [
            {
              type: 'recordTicketEvent',
              params: ({ event }) => ({ type: 'agent_message_reengaged', data: { outboxKey: event.failure.outboxKey } }),
            },
            {
              type: 'deliverAgentMessage',
              params: ({ event }) => ({
                agentId: event.failure.message.agentId,
                messageType: agentMessageType(event.failure.message.type),
                body: event.failure.message.body ?? event.failure.message.media?.url ?? '',
                media: event.failure.message.media,
                asTemplate: true,
              }),
            },
          ],
        },
        {
          actions: [
            {
              type: 'recordTicketEvent',
              params: ({ event }) => ({
                type: 'agent_message_failed',
                data: { outboxKey: event.failure.outboxKey, reason: event.failure.reason, code: event.failure.error?.code },
              }),
            },
            {
              type: 'reportAgentMessageFailed',
              params: ({ event }) => ({ reason: event.failure.reason, message: event.failure.message, error: event.failure.error }),
            },
          ],
        },
      ],
    },
    states: {
      /** Transient: decides, from the business hours, whether the ticket is queued at all. */
      requested: {
        entry: {
          type: 'recordTicketEvent',
          params: ({ context }) => ({ type: 'requested', data: { category: context.category, priority: context.priority } }),
        },
        always: [
          {
            guard: 'outOfHoursAndNotQueued',
            target: 'closed',
            actions: [
              assign({ closedAt: ({ context }) => context.requestedAt, closeReason: 'out_of_hours' }),
              {
                type: 'reply',
                params: ({ context }) => ({ text: 'outOfHoursClosed', vars: { ticketId: context.ticketId, businessHours: policy.calendar.description } }),
              },
            ],
          },
          { target: 'waitingAgent' },
        ],
      },
      waitingAgent: {
        entry: enqueueActions(({ context, enqueue }) => {
          enqueue({ type: 'logMilestone', params: { milestone: 'agent_required' } });
          enqueue('requestAgent');
          const at = context.requestedAt;
          if (policy.calendar.isOpen(at)) {
            enqueue({ type: 'reply', params: { text: 'connecting' } });
          } else {
            enqueue({ type: 'recordTicketEvent', params: { type: 'out_of_hours', data: { opensAt: policy.calendar.nextOpening(at) } } });
            enqueue({ type: 'reply', params: { text: 'outOfHoursQueued', vars: { ticketId: context.ticketId, businessHours: policy.calendar.description } } });
          }
          const opening = fromOpening(at);
          enqueue.assign({
            deadlines: {
              assign: addSeconds(opening, policy.assignTimeoutS),
              queueUpdate: addSeconds(opening, policy.queueUpdateIntervalS),
              abandon: addSeconds(opening, policy.userAbandonTimeoutS),
              idle: addSeconds(at, policy.windowS),
            },
          });
        }),
        on: {
          'crm.agent_request.accepted': [
            {
              guard: 'hasEstimate',
              actions: [
                assign({ proposedAgent: ({ event }) => event.agent, queuePosition: ({ event }) => event.queuePosition }),
                {
                  type: 'recordTicketEvent',
                  params: ({ event }) => ({ type: 'agent_proposed', data: { ...event.agent, queuePosition: event.queuePosition } }),
                },
                { type: 'reply', params: ({ event }) => ({ text: 'agentEstimate', vars: { estimatedResponseTime: event.agent!.estimatedResponseTime! } }) },
              ],
            },
            {
              actions: [
                assign({ proposedAgent: ({ event }) => event.agent, queuePosition: ({ event }) => event.queuePosition }),
                {
                  type: 'recordTicketEvent',
                  params: ({ event }) => ({ type: 'agent_proposed', data: { ...event.agent, queuePosition: event.queuePosition } }),
                },
              ],
            },
          ],
          'crm.agent_request.failed': {
            target: 'closed',
            actions: [
              { type: 'close', params: { reason: 'crm_unreachable' } },
              { type: 'recordTicketEvent', params: ({ event }) => ({ type: 'agent_request_failed', data: { error: event.error } }) },
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
              actions: ['touch', ...closeAndNotify('cancelled')],
            },
            {
              guard: 'waitingNoticeDue',
              actions: [
                'touch',
                'userSpoke',
                'countMessage',
                { type: 'relayToCrm', params: ({ event }) => ({ message: event.message }) },
                assign({ waitingNoticeSent: true }),
                { type: 'reply', params: ({ context }) => ({ text: 'waitingNotice', vars: { ticketId: context.ticketId } }) },
              ],
            },
            { actions: ['touch', 'userSpoke', 'countMessage', { type: 'relayToCrm', params: ({ event }) => ({ message: event.message }) }] },
          ],
          'meta.thread_control': { actions: { type: 'recordTicketEvent', params: ({ event }) => ({ type: 'thread_control', data: { ...event.control } }) } },
          'timer.fired': [
            ...ladder('assign', 'pending'),
            {
              guard: 'queueUpdateDue',
              actions: [
                assign(({ context, event }) => ({
                  deadlines: { ...context.deadlines, queueUpdate: addSeconds(fromOpening(event.at), policy.queueUpdateIntervalS) },
                })),
                {
                  type: 'reply',
                  params: ({ context }): EffectParams['reply'] =>
                    context.queuePosition !== null
                      ? { text: 'queueUpdatePosition', vars: { ticketId: context.ticketId, queuePosition: context.queuePosition } }
                      : context.proposedAgent?.estimatedResponseTime
                        ? {
                            text: 'queueUpdateEstimate',
                            vars: { ticketId: context.ticketId, estimatedResponseTime: context.proposedAgent.estimatedResponseTime },
                          }
                        : { text: 'queueUpdate', vars: { ticketId: context.ticketId } },
                },
              ],
            },
            { guard: 'abandonDue', target: 'closed', actions: closeAndNotify('abandoned') },
            { guard: 'idleDue', target: 'closed', actions: closeAndNotify('window_expired') },
          ],
        },
      },
      withAgent: {
        entry: [
          assign(({ context }) => ({
            ladderStep: 0,
            supervisorQueued: false,
            agentReminded: false,
            // The agent owes the user a first word; the waiting deadlines are over.
            deadlines: { idle: context.deadlines.idle, agentReply: addSeconds(context.lastActivityAt, policy.agentReplyTimeoutS) },
          })),
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
          'user.message': [
            // A reaction or an edit reaches the agent but is not a message: it neither counts nor opens the window.
            { guard: 'isAmbientMessage', actions: ['touch', { type: 'relayToCrm', params: ({ event }) => ({ message: event.message }) }] },
            { actions: ['touch', 'userSpoke', 'countMessage', { type: 'relayToCrm', params: ({ event }) => ({ message: event.message }) }] },
          ],
          'crm.message': [
            {
              // Outside WhatsApp's window only a template gets through; without one the message is refused and recorded.
              guard: 'agentMessageRefused',
              actions: [
                { type: 'recordTicketEvent', params: { type: 'agent_message_refused', data: { reason: 'outside_window' } } },
                {
                  type: 'reportAgentMessageFailed',
                  params: ({ event }) => ({
                    reason: 'outside_window' as const,
                    message: { type: event.message.messageType, body: event.message.message, waMessageId: null, agentId: event.message.agentId },
                  }),
                },
              ],
            },
            {
              actions: [
                'touch',
                'countMessage',
                'agentSpoke',
                {
                  type: 'deliverAgentMessage',
                  params: ({ context, event }) => ({
                    agentId: event.message.agentId,
                    messageType: event.message.messageType,
                    body: event.message.message,
                    asTemplate: deliveryOf(context, event.at) === 'template',
                    media:
                      event.message.messageType === 'text'
                        ? undefined
                        : { url: event.message.message, caption: event.message.caption, filename: event.message.filename },
                  }),
                },
              ],
            },
          ],
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
          'timer.fired': [
            {
              guard: and(['agentReplyDue', not('agentReminded')]),
              actions: [
                assign(({ context, event }) => ({
                  agentReminded: true,
                  deadlines: { ...context.deadlines, agentReply: rearm('agentReply', event.at) },
                })),
                { type: 'recordTicketEvent', params: { type: 'agent_reminded' } },
                { type: 'notifyCrm', params: { status: 'active', reason: 'agent_reminder' } },
              ],
            },
            ...ladder('agentReply', 'active'),
            { guard: 'idleDue', target: 'closed', actions: closeAndNotify('window_expired') },
          ],
        },
      },
      closed: {
        entry: enqueueActions(({ context, enqueue }) => {
          enqueue({ type: 'recordTicketEvent', params: { type: 'closed', data: { reason: context.closeReason } } });
          const vars = { ticketId: context.ticketId };
          switch (context.closeReason) {
            case 'resolved':
              enqueue({ type: 'logMilestone', params: { milestone: 'human_to_bot' } });
              enqueue({ type: 'reply', params: { text: 'resolved' } });
              break;
            case 'cancelled':
              enqueue({ type: 'reply', params: { text: 'cancelled', vars } });
              break;
            case 'crm_unreachable':
              enqueue({ type: 'reply', params: { text: 'crmUnreachable' } });
              break;
            case 'fallback':
              enqueue({ type: 'reply', params: { text: 'fallback', vars } });
              break;
            case 'abandoned':
              enqueue({ type: 'reply', params: { text: 'abandoned', vars } });
              break;
            // window_expired: WhatsApp would refuse a free-form message; out_of_hours: told on the way in.
          }
          enqueue({ type: 'ticketClosed', params: { reason: context.closeReason! } });
        }),
      },
    },
  });
}

export type HandoverMachine = ReturnType<typeof createHandoverMachine>;
