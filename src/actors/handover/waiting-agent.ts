import { assign, enqueueActions } from 'xstate';
import { addSeconds } from '../../domain/time';
import type { EffectParams } from '../effects';
import { idleClosesAt } from '../../domain/window';
import type { HandoverPolicy } from './model';
import { closeAndNotify, handoverRules, ladder, type HandoverSetup } from './setup';

/**
 * Waiting for an agent: the CRM is asked for one; the user is told whether
 * the desk is open, the CRM's estimate and, now and then, their place in
 * the queue; their messages go to the CRM under the ticket. The ticket
 * climbs the escalation ladder while no agent takes it, and closes when the
 * user gives up, cancels, or stays silent past the window.
 */
export function waitingAgentState(machine: HandoverSetup, policy: HandoverPolicy) {
  const { fromOpening } = handoverRules(policy);
  return machine.createStateConfig({
    entry: enqueueActions(({ context, enqueue }) => {
      // Meta's AI had the thread: the ticket's words and the agent's need it (this app is the escalation partner).
      if (policy.threadControl === 'ai_agent') enqueue({ type: 'threadControl', params: { action: 'take' } });
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
  });
}
