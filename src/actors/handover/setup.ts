import { assign, setup } from 'xstate';
import type { AgentMessageType, InboundMessage } from '../../domain/events';
import type { CloseReason, TicketPriority } from '../../db/schema';
import { effect } from '../effects';
import { isAmbient, isCancelRequest } from '../intents';
import { deadlineDue } from '../deadlines';
import { addSeconds } from '../../domain/time';
import { agentMessageDelivery, idleClosesAt } from '../../domain/window';
import { TYPING_REFRESH_S, type HandoverContext, type HandoverEvent, type HandoverInput, type HandoverPolicy } from './model';

/** The deadlines that climb the escalation ladder when they fire: no agent yet, or an agent gone silent. */
export type LadderTimer = 'assign' | 'agentReply';
type LadderRung = 'escalate' | 'supervisor' | 'fallback';

/**
 * The escalation ladder, the same for both phases: re-request with a higher
 * priority (HANDOVER_MAX_ESCALATIONS times), then the supervisor queue when
 * configured, then the emergency-number fallback.
 */
export const ladder = <T extends LadderTimer>(timer: T, status: 'pending' | 'active') =>
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
export const closeAndNotify = <R extends CloseReason>(reason: R) =>
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
export const agentMessageType = (type: string): AgentMessageType => (AGENT_MESSAGE_TYPES.has(type) ? (type as AgentMessageType) : 'text');

/** The user's message a typing or read event names. */
const presenceOf = (event: HandoverEvent) => (event.type === 'crm.typing' || event.type === 'crm.read' ? event.presence.message : { historyId: 0 });

const ESCALATED_PRIORITY: Record<TicketPriority, TicketPriority> = { baja: 'media', media: 'alta', alta: 'alta' };

/** The policy's arithmetic, shared by the actions and guards below and the machine's states. */
export function handoverRules(policy: HandoverPolicy) {
  /** Waiting deadlines count from the desk's next opening: a ticket queued at night is not escalated before morning. */
  const fromOpening = (at: string) => policy.calendar.nextOpening(at) ?? at;
  const deliveryOf = (context: HandoverContext, at: string) => agentMessageDelivery(policy, context.lastUserMessageAt, at);

  const rungOf = (context: HandoverContext): LadderRung =>
    context.ladderStep < policy.maxEscalations ? 'escalate' : policy.supervisorQueue && !context.supervisorQueued ? 'supervisor' : 'fallback';

  /** Where a re-armed ladder deadline counts from: a waiting ticket's from the desk's opening, an active one's from now. */
  const ladderDelay = { assign: policy.assignTimeoutS, agentReply: policy.agentReplyTimeoutS };
  const rearm = (timer: LadderTimer, at: string) => addSeconds(timer === 'assign' ? fromOpening(at) : at, ladderDelay[timer]);
  return { fromOpening, deliveryOf, rungOf, rearm };
}

export type HandoverSetup = ReturnType<typeof handoverSetup>;

/** The handover machine's vocabulary: its types, its named effects, its context updates and its guards. */
export function handoverSetup(policy: HandoverPolicy) {
  const { fromOpening, deliveryOf, rungOf, rearm } = handoverRules(policy);

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
      showTyping: effect<'showTyping'>(),
      markRead: effect<'markRead'>(),
      notifyCrm: effect<'notifyCrm'>(),
      reportToCrm: effect<'reportToCrm'>(),
      threadControl: effect<'threadControl'>(),
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
            idle: idleClosesAt(wroteAt, policy.windowS),
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
          lastAgentMessageAt: event.at,
          agentReminded: false,
          ladderStep: 0,
          supervisorQueued: false,
          deadlines: { ...deadlines, idle: idleClosesAt(event.at, policy.windowS) },
        };
      }),
      assignAgent: assign({
        agent: ({ event }) => (event.type === 'crm.handover.bot_to_human' ? event.agent : null),
        assignedAt: ({ context, event }) => context.assignedAt ?? event.at,
      }),
      /** A typing indicator marks its message read too. */
      typingShown: assign(({ context, event }) => ({ typingShownAt: event.at, readUpTo: Math.max(context.readUpTo ?? 0, presenceOf(event).historyId) })),
      readMarked: assign(({ context, event }) => ({ readUpTo: Math.max(context.readUpTo ?? 0, presenceOf(event).historyId) })),
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
      /** Typing and read count only from the agent who holds the ticket now (a transfer may have overtaken the call). */
      fromHoldingAgent: ({ context, event }) => (event.type === 'crm.typing' || event.type === 'crm.read') && event.presence.agentId === context.agent?.id,
      /**
       * At most one indicator per TYPING_REFRESH_S, and none asked for before the agent's last message went: WhatsApp
       * would show "typing…" under the reply it already has.
       */
      typingDue: ({ context, event }) =>
        (context.typingShownAt === null || Date.parse(event.at) >= Date.parse(addSeconds(context.typingShownAt, TYPING_REFRESH_S))) &&
        (context.lastAgentMessageAt === null || Date.parse(context.lastAgentMessageAt) < Date.parse(event.at)),
      /** WhatsApp marks a message and every earlier one: a message no later than one marked is read already. */
      readAdvances: ({ context, event }) => context.readUpTo === null || presenceOf(event).historyId > context.readUpTo,
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
  });
}
