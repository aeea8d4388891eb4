import { assign, enqueueActions } from 'xstate';
import type { CallEvent, EchoMessage } from '../../domain/events';
import { crmUserFields, type IdentityChange } from '../../domain/user-ids';
import { LIFECYCLE_START, PRESENCE_START, type HandoverPolicy } from './model';
import { agentMessageType, handoverSetup } from './setup';
import { waitingAgentState } from './waiting-agent';
import { withAgentState } from './with-agent';

/**
 * One per ticket: waiting for an agent → with an agent (the bot is silent) →
 * closed. The CRM drives it through /api/crm/handover and
 * /api/crm/send-message, the user through WhatsApp, and its own deadlines
 * through `timer.fired`. Pure: built from the policy, it reads no clock.
 */
export function createHandoverMachine(policy: HandoverPolicy) {
  const machine = handoverSetup(policy);
  return machine.createMachine({
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
      lastUserMessageAt: input.requestedAt,
      messageCount: 0,
      waitingNoticeSent: false,
      ...LIFECYCLE_START,
      ...PRESENCE_START,
      deadlines: {},
    }),
    initial: 'requested',
    on: {
      // The user called the number: the ticket keeps a trace of it and the agent hears of it.
      'whatsapp.call': {
        actions: [
          { type: 'recordTicketEvent', params: ({ event }) => ({ type: 'call', data: callDetails(event.call) }) },
          { type: 'reportToCrm', params: ({ event }) => ({ reason: 'call' as const, details: { call: callDetails(event.call) } }) },
        ],
      },
      // The user's phone or BSUID was replaced: recorded, and the CRM told with both, so it names the user anew.
      'user.identity_changed': {
        actions: [
          { type: 'recordTicketEvent', params: ({ event }) => ({ type: 'identity_changed', data: identityChangeData(event.change) }) },
          { type: 'reportToCrm', params: ({ event }) => ({ reason: 'identity_changed' as const, details: previousIdFields(event.change) }) },
        ],
      },
      'whatsapp.thread_control.refused': {
        actions: {
          type: 'recordTicketEvent',
          params: ({ event }) => ({ type: 'thread_control_refused', data: { action: event.refusal.action, ...event.refusal.error } }),
        },
      },
      // The business answered from the Business app, or another responder wrote: the agent sees it (routed here only while open).
      'whatsapp.echo': {
        actions: [
          'touch',
          {
            type: 'recordTicketEvent',
            params: ({ event }) => ({
              type: 'business_message',
              data: { source: event.echo.source, waMessageId: event.echo.waMessageId, type: event.echo.type },
            }),
          },
          { type: 'reportToCrm', params: ({ event }) => ({ reason: 'business_message' as const, details: echoDetails(event.echo) }) },
        ],
      },
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
      waitingAgent: waitingAgentState(machine, policy),
      withAgent: withAgentState(machine, policy),
      closed: {
        entry: enqueueActions(({ context, enqueue }) => {
          enqueue({ type: 'recordTicketEvent', params: { type: 'closed', data: { reason: context.closeReason } } });
          // Conversation Routing: the thread comes back before the bot speaks again (Meta refuses a take unless this app is
          // the escalation partner; then it comes back when the CRM's app passes it, or with the user's next message).
          if (policy.threadControl === 'crm' && context.agent) enqueue({ type: 'threadControl', params: { action: 'take' } });
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
          if (policy.threadControl === 'ai_agent') enqueue({ type: 'threadControl', params: { action: 'pass', targetRole: 'ai_agent' } });
          enqueue({ type: 'ticketClosed', params: { reason: context.closeReason! } });
        }),
      },
    },
  });
}

export type HandoverMachine = ReturnType<typeof createHandoverMachine>;

/** A call as the ticket and the CRM keep it: which, when, how it went. */
const callDetails = (call: CallEvent) => ({
  callId: call.callId,
  event: call.event,
  at: call.timestamp,
  ...(call.direction ? { direction: call.direction } : {}),
  ...(call.status ? { status: call.status } : {}),
  ...(call.durationS !== undefined ? { durationS: call.durationS } : {}),
});

/** What the CRM is told of an echo: the message, who sent it (`whatsapp_business_app`, `other_responder`), what it edits or deletes. */
function echoDetails(echo: EchoMessage): Record<string, unknown> {
  return {
    message: {
      type: echo.type,
      body: echo.text ?? echo.edit?.text ?? null,
      waMessageId: echo.waMessageId,
      sentFrom: echo.source === 'business_app' ? 'whatsapp_business_app' : 'other_responder',
      ...(echo.edit ? { edits: echo.edit.waMessageId } : {}),
      ...(echo.revoke ? { deletes: echo.revoke.waMessageId } : {}),
    },
  };
}

/** The ids a change replaced, as the CRM names them (`userPhone` → `previousUserPhone`, `userId` → `previousUserId`). */
function previousIdFields({ previous, current }: IdentityChange): Record<string, string> {
  return {
    ...(previous.phone && previous.phone !== current.phone ? { previousUserPhone: previous.phone } : {}),
    ...(previous.bsuid && previous.bsuid !== current.bsuid ? { previousUserId: previous.bsuid } : {}),
  };
}

/** The change as its ticket event keeps it, in the CRM's names: what a CRM call may still name in the grace period. */
function identityChangeData(change: IdentityChange): Record<string, unknown> {
  return { ...previousIdFields(change), ...crmUserFields(change.current) };
}
