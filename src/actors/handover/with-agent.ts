import { and, assign, enqueueActions, not } from 'xstate';
import { addSeconds } from '../../domain/time';
import type { HandoverPolicy } from './model';
import { closeAndNotify, handoverRules, ladder, type HandoverSetup } from './setup';

/**
 * With an agent: the bot is silent; the user's messages go to the CRM and
 * the agent's to the user, inside WhatsApp's window or as the template past
 * it. An agent silent too long is reminded, then the ladder climbs; the
 * ticket closes when the CRM or Meta gives it back, or it stays idle past
 * the window.
 */
export function withAgentState(machine: HandoverSetup, policy: HandoverPolicy) {
  const { deliveryOf, rearm } = handoverRules(policy);
  return machine.createStateConfig({
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
      // Conversation Routing: the CRM's app (the escalation partner) answers from now on; once, at the first assignment.
      enqueueActions(({ context, event, enqueue }) => {
        if (policy.threadControl === 'crm' && event.type === 'crm.handover.bot_to_human' && context.assignedAt === event.at) {
          enqueue({ type: 'threadControl', params: { action: 'pass' } });
        }
      }),
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
      // Only on the CRM's word: the agent is typing, or has read; a repeat, or a call a reply overtook, shows nothing.
      'crm.typing': [
        {
          guard: and(['fromHoldingAgent', 'typingDue']),
          actions: ['typingShown', { type: 'showTyping', params: ({ event }) => ({ waMessageId: event.presence.message.waMessageId }) }],
        },
        {},
      ],
      'crm.read': [
        {
          guard: and(['fromHoldingAgent', 'readAdvances']),
          actions: ['readMarked', { type: 'markRead', params: ({ event }) => ({ waMessageId: event.presence.message.waMessageId }) }],
        },
        {},
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
  });
}
