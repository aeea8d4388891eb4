import { createHash } from 'node:crypto';
import { agentMessageDelivery, windowClosesAt, type WindowPolicy } from '../../domain/window';
import type { Admission, Queries } from '../../db/queries';
import { badRequest, conflict } from '../../errors';
import { pipelineEvent, type PipelineEvent } from '../../domain/events';
import type { Logger } from '../../logger';
import type { AppliedEvents } from '../../streams/applied';
import type { Producer } from '../../streams/producer';
import { requestFingerprint, type IdempotencyKeys } from './idempotency';
import { ticketStatus } from './ticket-status';
import { createAdmission, type CrmAnswer } from './admission';
import type { CrmModel } from './model';
import { eventIds } from '../../domain/event-ids';
import type { BusinessNumbers } from '../../domain/business-numbers';
import type { TicketRates } from './ticket-status';

export interface CrmServiceDeps {
  queries: Queries;
  producer: Producer;
  /** WhatsApp's customer-service window, and whether a template may carry an agent's message past it. */
  window: WindowPolicy;
  idempotency: IdempotencyKeys;
  /** How a queued event's commit is awaited, and for how long (CRM_APPLY_TIMEOUT_MS). */
  applied: Pick<AppliedEvents, 'publishAndWait'>;
  applyTimeoutMs: number;
  logger: Logger;
  now?: () => Date;
  /** The WhatsApp numbers served: the status says which one the ticket's user wrote to. */
  numbers?: BusinessNumbers;
  /** The rate card a ticket's cost is estimated with (the status's `cost`). */
  rates?: TicketRates;
  /** IDENTITY_CHANGE_GRACE_S: how long after a user's phone or BSUID changed a call may still name the previous one (default a day). */
  identityChangeGraceS?: number;
}

/** What the CRM is answered (`admission.ts`: with the user's current ids when the request named their previous ones). */
export type { CrmAnswer };

/** What identifies one CRM request across its retries. */
export interface CrmRequest<Body> {
  body: Body;
  /** The bytes as received: without an Idempotency-Key, a retry is recognised by them. */
  raw: Uint8Array;
  idempotencyKey?: string;
}

const idempotencyKeyOf = (request: CrmRequest<unknown>) => request.idempotencyKey?.trim() || undefined;

/** A key short enough to name the message back to the CRM in a reply (`replyTo`); a longer one is not kept, and replies name the wamid. */
const MAX_CRM_KEY_LENGTH = 256;
const crmKeyOf = (request: CrmRequest<unknown>) => {
  const key = idempotencyKeyOf(request);
  return key && key.length <= MAX_CRM_KEY_LENGTH ? key : undefined;
};

/**
 * The event id that makes a CRM retry harmless: its Idempotency-Key (scoped
 * to the ticket, with the request it was first used for) when it sends one,
 * else the body's hash at the ticket's current revision (the same body sent
 * again after the ticket moved on is a new request, e.g. an agent taking a
 * ticket back after a transfer). The first needs only the request, so it is
 * known before the ticket is read.
 */
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const keyedEventId = (route: string, request: CrmRequest<unknown>, key: string, ticketId: string) =>
  eventIds.crmRequest(route, 'key', sha256(`${ticketId}\u0000${key}\u0000${requestFingerprint(route, request.raw)}`));
const bodyEventId = (route: string, request: CrmRequest<unknown>, ticket: { id: string; revision: number }, moment = '') =>
  eventIds.crmRequest(route, 'body', createHash('sha256').update(`${ticket.id}@${ticket.revision}${moment}:`).update(request.raw).digest('hex'));
/**
 * Typing repeats the same body while the agent types, and an indicator not
 * due changes nothing, so the ticket's revision stays: by body and revision
 * alone, the call that should refresh the indicator 20 s later would be taken
 * for a retry of the first. Its second tells them apart; a retry within it is
 * still one call, and the machine sends at most one indicator per 20 s.
 */
const typingMoment = (at: Date) => `#${Math.floor(at.getTime() / 1000)}`;

/**
 * What the CRM asks of a ticket, checked against what we know of it, then
 * queued for the ticket's machine. A request already applied (a retry) is
 * answered as it was the first time, whatever the ticket became since.
 */
export function createCrmService(deps: CrmServiceDeps) {
  const { queries, producer, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const { admitted, answered } = createAdmission({ queries, logger, now, identityChangeGraceS: deps.identityChangeGraceS ?? 24 * 3600 });

  /**
   * Queues the event and waits for its commit by the partition's owner, at
   * most CRM_APPLY_TIMEOUT_MS: past it the CRM hears 202 and the event is
   * still applied, in order. A retry of a request still waiting queues it
   * again (deduplicated when applied) and waits again.
   */
  async function queueAndAwait(route: string, ticketId: string, event: PipelineEvent): Promise<CrmAnswer> {
    const startedAt = performance.now();
    const applied = await deps.applied.publishAndWait(event.id, () => producer.publish([event]), deps.applyTimeoutMs);
    if (!applied) {
      logger.warn(
        { event: 'crm.not_applied_in_time', route, ticketId, eventId: event.id, waitedMs: Math.round(performance.now() - startedAt) },
        `answered 202: the event is queued but its partition's owner did not apply it within CRM_APPLY_TIMEOUT_MS (${deps.applyTimeoutMs} ms); it will be applied in order (see handover_stream_lag)`,
      );
    }
    return { ticketId, applied };
  }

  /** A retry of an applied request changes nothing: answered as the first time was, noted at debug only. */
  function alreadyApplied(route: string, ticketId: string, eventId: string): CrmAnswer {
    logger.debug({ event: 'crm.already_applied', route, ticketId, eventId }, 'a retry of an applied request: answered as the first time');
    return { ticketId, applied: true };
  }

  /**
   * A key the CRM reuses for another request on this ticket is refused before
   * anything else is decided. The caller is the one holder of CRM_API_TOKEN,
   * so the ticket is the scope that remains.
   */
  const claimKey = (route: string, request: CrmRequest<unknown>, key: string, ticketId: string): Promise<void> =>
    deps.idempotency.claim(`crm:${ticketId}`, key, requestFingerprint(route, request.raw));

  /**
   * The ticket a request names, the event id that makes its retries harmless,
   * and whether that event was applied already (a retry is answered as the
   * first time was). With an Idempotency-Key the event id is known from the
   * request alone, so one read brings the ticket, its user and the dedupe
   * check; the key is claimed only for a request that names a real ticket and
   * its user (a 400 or 404 leaves the key free for the corrected request), and
   * a reused key's 409 wins over what the read says. Without a key the id
   * hashes the body at the ticket's revision: read, then check.
   */
  async function admit(route: string, request: CrmRequest<CrmModel.Handover | CrmModel.SendMessage | CrmModel.Typing | CrmModel.Read>) {
    const { ticketId } = request.body;
    // Typing and read name the agent, not the user: the agent must hold the ticket (assertAgentHolds).
    const named = 'handoverType' in request.body || 'messageType' in request.body ? request.body : 'by agent';
    const key = idempotencyKeyOf(request);
    if (key) {
      const eventId = keyedEventId(route, request, key, ticketId);
      const admission = await admitted(ticketId, named, eventId);
      await claimKey(route, request, key, ticketId);
      return { ...admission, eventId, applied: admission.applied! };
    }
    const admission = await admitted(ticketId, named);
    const eventId = bodyEventId(route, request, admission.ticket, route === 'typing' ? typingMoment(now()) : '');
    return { ...admission, eventId, applied: await queries.isProcessed(eventId) };
  }

  /** Only an active ticket has an agent: before, the bot has the user; after, the bot has them back. */
  function assertActive(ticket: Admission['ticket']): void {
    if (ticket.status === 'closed') throw conflict('ticket_closed', `ticket ${ticket.id} is closed; the bot has the conversation`);
    if (ticket.status === 'pending') {
      throw conflict('ticket_not_active', `ticket ${ticket.id} has no agent yet: call /api/crm/handover with bot_to_human first`);
    }
  }

  /** An agent may write only to a ticket it holds, inside WhatsApp's window (or with a template to carry it). */
  function assertAgentMayWrite(ticket: Admission['ticket']): void {
    assertActive(ticket);
    // Tickets from before the column have none: the machine then counts from the last activity, and so does this check.
    const lastUserMessage = (ticket.lastUserMessageAt ?? ticket.lastActivityAt).toISOString();
    if (agentMessageDelivery(deps.window, lastUserMessage, now().toISOString()) === 'refused') {
      throw conflict(
        'outside_window',
        `the user last wrote more than ${deps.window.windowS} s ago (window closed at ${windowClosesAt(lastUserMessage, deps.window.windowS)}): WhatsApp accepts only a template, and none is configured`,
      );
    }
  }

  /** Typing and read come from the agent who holds the ticket while it is active: WhatsApp shows them as the business's. */
  function assertAgentHolds(ticket: Admission['ticket'], agentId: string): void {
    assertActive(ticket);
    if (ticket.agentId !== agentId) throw conflict('not_ticket_agent', `agent ${agentId} does not hold ticket ${ticket.id}`);
  }

  /** The user's message a read mark or typing indicator names: `upTo` when given (a message of this user), else their last. */
  async function userMessageOf(ticket: Admission['ticket'], upTo?: string) {
    const message = await queries.userMessage(ticket.conversationKey, upTo);
    if (message) return message;
    if (upTo) throw badRequest('unknown_message', `upTo names no message ticket ${ticket.id}'s user wrote (a user-message's waMessageId)`);
    throw conflict('no_user_message', `ticket ${ticket.id}'s user has written nothing to mark`);
  }

  /** Typing and read: checked here, queued for the ticket's machine, which decides whether WhatsApp is asked (once). */
  async function presence(route: 'typing' | 'read', request: CrmRequest<CrmModel.Typing | CrmModel.Read>): Promise<CrmAnswer> {
    const { body } = request;
    const { ticket, eventId, applied } = await admit(route, request);
    if (applied) return alreadyApplied(route, ticket.id, eventId);
    assertAgentHolds(ticket, body.agentId);
    const message = await userMessageOf(ticket, 'upTo' in body ? body.upTo : undefined);
    const data = { ticketId: ticket.id, agentId: body.agentId, message };
    return queueAndAwait(route, ticket.id, pipelineEvent(route === 'typing' ? 'crm.typing' : 'crm.read', ticket.conversationKey, eventId, data));
  }

  /** The wamid WhatsApp quotes for `replyTo`: a message of this user's conversation, named as the CRM knows it. */
  async function replyTargetOf(ticket: Admission['ticket'], replyTo: string): Promise<string> {
    const waMessageId = await queries.replyTarget(ticket.conversationKey, replyTo);
    if (!waMessageId) {
      throw badRequest(
        'unknown_reply_target',
        `replyTo names no message of ticket ${ticket.id}'s user that WhatsApp has (a user-message's waMessageId, or the Idempotency-Key of a sent agent message)`,
      );
    }
    return waMessageId;
  }

  return {
    async handover(request: CrmRequest<CrmModel.Handover>): Promise<CrmAnswer> {
      const { body } = request;
      const admission = await admit('handover', request);
      const { ticket, eventId, applied } = admission;
      if (applied) return answered(admission, alreadyApplied('handover', ticket.id, eventId));
      if (ticket.status === 'closed') throw conflict('ticket_closed', `ticket ${ticket.id} is closed`);
      return answered(
        admission,
        queueAndAwait(
          'handover',
          ticket.id,
          pipelineEvent('crm.handover', ticket.conversationKey, eventId, {
            ticketId: ticket.id,
            handoverType: body.handoverType,
            agentId: body.agentId,
            agentName: body.agentName,
            metadata: body.metadata,
          }),
        ),
      );
    },

    async sendMessage(request: CrmRequest<CrmModel.SendMessage>): Promise<CrmAnswer> {
      const { body } = request;
      const admission = await admit('send-message', request);
      const { ticket, eventId, applied } = admission;
      if (applied) return answered(admission, alreadyApplied('send-message', ticket.id, eventId));
      assertAgentMayWrite(ticket);
      const replyToWaMessageId = body.replyTo ? await replyTargetOf(ticket, body.replyTo) : undefined;
      return answered(
        admission,
        queueAndAwait(
          'send-message',
          ticket.id,
          pipelineEvent('crm.message', ticket.conversationKey, eventId, {
            ticketId: ticket.id,
            agentId: body.agentId,
            message: body.message,
            messageType: body.messageType,
            caption: body.caption,
            filename: body.filename,
            timestamp: body.timestamp,
            crmKey: crmKeyOf(request),
            replyToWaMessageId,
          }),
        ),
      );
    },

    /** The agent is typing: WhatsApp's indicator, at most once per 20 s per ticket, never under a reply already sent. */
    typing: (request: CrmRequest<CrmModel.Typing>) => presence('typing', request),

    /** The agent has read up to a message: WhatsApp's read mark, sent only on this call. */
    read: (request: CrmRequest<CrmModel.Read>) => presence('read', request),

    /** The seed's handover-status answer, plus the richer fields (phase, close reason, survey, the user's ids). */
    status: ticketStatus(queries, deps.numbers, deps.rates),
  };
}

export type CrmService = ReturnType<typeof createCrmService>;
