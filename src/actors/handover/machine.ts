import { and, assign, enqueueActions, not } from 'xstate';
import { addSeconds } from '../deadlines';
import type { EffectParams } from '../effects';
import { idleClosesAt } from '../window';
import type { HandoverPolicy } from './model';
import { agentMessageType, closeAndNotify, handoverRules, handoverSetup, ladder } from './setup';

/**
 * One per ticket: waiting for an agent → with an agent (the bot is silent) →
 * closed. The CRM drives it through /api/crm/handover and
 * /api/crm/send-message, the user through WhatsApp, and its own deadlines
 * through `timer.fired`. Pure: built from the policy, it reads no clock.
 */
export function createHandoverMachine(policy: HandoverPolicy) {
  const { fromOpening, deliveryOf, rearm } = handoverRules(policy);
  return handoverSetup(policy).createMachine({
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
              idle: idleClosesAt(at, policy.windowS),
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
                    crmKey: event.message.crmKey,
                    replyToWaMessageId: event.message.replyToWaMessageId,
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
