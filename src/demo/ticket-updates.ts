/** What the CRM stand-in reads of a ticket-update body (DESIGN 2.2). */
export interface TicketUpdate {
  status: string;
  reason: string;
  priority?: string;
  csat?: number;
  timestamp?: string;
  error?: { title?: string };
  message?: { body?: string | null; sentFrom?: string };
  call?: { event?: string; status?: string; durationS?: number };
  previousUserPhone?: string;
  previousUserId?: string;
}

/** "45 s", "2 min": how long a ticket waited, as the console says it. */
export function waited(fromIso: string, toIso: string | undefined): string {
  const seconds = Math.max(0, ((Date.parse(toIso ?? '') || Date.now()) - Date.parse(fromIso)) / 1000);
  return seconds < 90 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
}

/**
 * A ticket-update as the agent reads it in the console: what happened, in
 * words, rather than its `reason` code. `requestedAt` is when the ticket was
 * asked for, from which a pending ticket's wait is counted.
 */
export function describeTicketUpdate(update: TicketUpdate, requestedAt: string | undefined): string {
  const pending = update.status === 'pending';
  const noOne = pending ? `no agent after ${requestedAt ? waited(requestedAt, update.timestamp) : 'the wait'}` : 'the agent has not answered the subscriber';
  switch (update.reason) {
    case 'escalated':
      return `Escalated: priority ${update.priority ?? 'raised'}, ${noOne}`;
    case 'supervisor_queue':
      return `Sent to the supervisors' queue: ${noOne}`;
    case 'agent_reminder':
      return 'Reminder: the subscriber is waiting for an answer';
    case 'fallback':
      return 'Closed: no agent came; the subscriber was given the emergency line';
    case 'cancelled':
      return 'Closed: the subscriber cancelled';
    case 'abandoned':
      return 'Closed: the subscriber stopped answering';
    case 'resolved':
      return 'Closed: resolved';
    case 'window_expired':
      return "Closed: WhatsApp's 24-hour window ran out";
    case 'out_of_hours':
      return 'Closed: outside business hours';
    case 'crm_unreachable':
      return 'Closed: the CRM could not be reached';
    case 'csat':
      return `Rated the agent ${update.csat}/5`;
    case 'survey_expired':
      return 'The survey went unanswered';
    case 'survey_skipped':
      return 'The subscriber skipped the survey';
    case 'message_failed':
      return `A message did not reach the subscriber${update.error?.title ? `: ${update.error.title}` : ''}`;
    case 'business_message':
      return `${update.message?.sentFrom === 'whatsapp_business_app' ? 'Answered from the WhatsApp Business app' : 'Another responder wrote'}${update.message?.body ? `: ${update.message.body}` : ''}`;
    case 'call':
      return update.call?.event === 'terminate'
        ? `The subscriber's call ended${update.call.status ? ` (${update.call.status.toLowerCase()}` : ''}${update.call.durationS !== undefined ? `, ${update.call.durationS} s)` : update.call.status ? ')' : ''}`
        : 'The subscriber is calling the business number';
    case 'identity_changed':
      return update.previousUserPhone
        ? 'The subscriber now writes from another phone number: replies go to the new one'
        : 'The subscriber has a new WhatsApp user id';
    default:
      return `ticket-update: ${update.reason}`;
  }
}
