import { bearer } from '@elysiajs/bearer';
import { createHash } from 'node:crypto';
import { Elysia } from 'elysia';
import type { Queries } from '../db/queries';
import type { Ticket } from '../db/schema';
import { badRequest, conflict, notFound, unauthorized } from '../errors';
import { pipelineEvent, type PipelineEvent } from '../events';
import { parseThreadControlWebhook } from '../integrations/meta-webhooks';
import type { Logger } from '../logger';
import { maskPhone } from '../logger';
import { tokenMatches, verifySignature } from '../security';
import type { Producer } from '../streams/producer';
import { parseJson, readRawBody, validate } from './http';
import { CrmModel } from './models';
import { agentMessageDelivery, windowClosesAt } from '../actors/window';

export interface CrmDeps {
  apiToken: string;
  /** WhatsApp's customer-service window, and whether a template may carry an agent's message past it. */
  windowS: number;
  reengageTemplate: boolean;
  appSecret: string;
  crmAppId: string;
  maxBodyBytes: number;
  queries: Queries;
  producer: Producer;
  logger: Logger;
}

const digits = (phone: string) => phone.replace(/\D/g, '');

/**
 * The event id that makes a CRM retry harmless: its Idempotency-Key when it
 * sends one, else the body's hash at the ticket's current revision (the same
 * body sent again after the ticket moved on is a new request, e.g. an agent
 * taking a ticket back after a transfer).
 */
function crmEventId(route: string, request: Request, raw: Uint8Array, ticket: Ticket): string {
  const key = request.headers.get('idempotency-key')?.trim();
  if (key) return `crm:${route}:key:${createHash('sha256').update(key).digest('hex')}`;
  return `crm:${route}:body:${createHash('sha256').update(`${ticket.id}@${ticket.revision}:`).update(raw).digest('hex')}`;
}

async function requireTicket(queries: Queries, ticketId: string, userPhone: string): Promise<Ticket> {
  const ticket = await queries.ticket(ticketId);
  if (!ticket) throw notFound('ticket_not_found', `ticket ${ticketId} does not exist`);
  if (digits(userPhone) !== digits(ticket.phone)) throw badRequest('user_phone_mismatch', `userPhone does not belong to ticket ${ticketId}`);
  return ticket;
}

/** The CRM's routes (DESIGN 2.1): Bearer CRM_API_TOKEN, validated bodies, then XADD. */
export const crmRoutes = (deps: CrmDeps) => {
  const { queries, producer } = deps;

  const authenticated = new Elysia({ prefix: '/api/crm' })
    .use(bearer())
    .onBeforeHandle({ as: 'local' }, ({ bearer: token }) => {
      if (!tokenMatches(deps.apiToken, token)) throw unauthorized('Authorization: Bearer <CRM_API_TOKEN> is missing or wrong');
    })
    .post(
      '/handover',
      async ({ request }) => {
        const raw = await readRawBody(request, deps.maxBodyBytes);
        const body = validate(CrmModel.handover, parseJson(raw));
        if (body.handoverType === 'bot_to_human' && (!body.agentId || !body.agentName)) {
          throw badRequest('invalid_request', 'agentId and agentName are required for bot_to_human');
        }
        const ticket = await requireTicket(queries, body.ticketId, body.userPhone);
        const eventId = crmEventId('handover', request, raw, ticket);
        if (!(await queries.isProcessed(eventId))) {
          if (ticket.status === 'closed') throw conflict('ticket_closed', `ticket ${ticket.id} is closed`);
          await producer.publish([
            pipelineEvent('crm.handover', ticket.phone, eventId, {
              ticketId: ticket.id,
              handoverType: body.handoverType,
              agentId: body.agentId,
              agentName: body.agentName,
              metadata: body.metadata,
            }),
          ]);
        }
        return { success: true, message: 'Handover processed successfully', ticketId: ticket.id };
      },
      { parse: 'none' },
    )
    .post(
      '/send-message',
      async ({ request }) => {
        const raw = await readRawBody(request, deps.maxBodyBytes);
        const body = validate(CrmModel.sendMessage, parseJson(raw));
        if (body.messageType !== 'text' && !/^https:\/\/\S+$/.test(body.message)) {
          throw badRequest('invalid_media_url', `message must be the https URL of the ${body.messageType}`);
        }
        const ticket = await requireTicket(queries, body.ticketId, body.userPhone);
        const eventId = crmEventId('send-message', request, raw, ticket);
        if (!(await queries.isProcessed(eventId))) {
          if (ticket.status === 'closed') throw conflict('ticket_closed', `ticket ${ticket.id} is closed; the bot has the conversation`);
          if (ticket.status === 'pending') {
            throw conflict('ticket_not_active', `ticket ${ticket.id} has no agent yet: call /api/crm/handover with bot_to_human first`);
          }
          // Tickets from before the column have none: the machine then counts from the last activity, and so does this check.
          const lastUserMessage = (ticket.lastUserMessageAt ?? ticket.lastActivityAt).toISOString();
          const window = { windowS: deps.windowS, reengageTemplate: deps.reengageTemplate };
          if (agentMessageDelivery(window, lastUserMessage, new Date().toISOString()) === 'refused') {
            throw conflict(
              'outside_window',
              `the user last wrote more than ${deps.windowS} s ago (window closed at ${windowClosesAt(lastUserMessage, deps.windowS)}): WhatsApp accepts only a template, and none is configured`,
            );
          }
          await producer.publish([
            pipelineEvent('crm.message', ticket.phone, eventId, {
              ticketId: ticket.id,
              agentId: body.agentId,
              message: body.message,
              messageType: body.messageType,
              caption: body.caption,
              filename: body.filename,
              timestamp: body.timestamp,
            }),
          ]);
        }
        return { success: true, message: 'Message sent successfully', ticketId: ticket.id };
      },
      { parse: 'none' },
    )
    .get('/handover-status/:ticketId', async ({ params }) => {
      const ticket = await queries.ticket(params.ticketId);
      if (!ticket) throw notFound('ticket_not_found', `ticket ${params.ticketId} does not exist`);
      return {
        ticketId: ticket.id,
        status: ticket.status,
        phase: ticket.phase,
        closeReason: ticket.closeReason,
        category: ticket.category,
        priority: ticket.priority,
        assignedAgent: ticket.agentId ? { id: ticket.agentId, name: ticket.agentName } : null,
        startTime: ticket.requestedAt.toISOString(),
        assignedTime: ticket.assignedAt?.toISOString() ?? null,
        closedTime: ticket.closedAt?.toISOString() ?? null,
        lastActivity: ticket.lastActivityAt.toISOString(),
        lastUserMessage: ticket.lastUserMessageAt?.toISOString() ?? null,
        messageCount: ticket.messageCount,
        escalations: ticket.escalations,
        survey: ticket.surveyStatus ? { status: ticket.surveyStatus, csat: ticket.csat } : null,
      };
    });

  // Signed by Meta, not by the CRM's token: outside the bearer guard.
  const metaHandover = new Elysia().post(
    '/api/crm/meta-handover-webhook',
    async ({ request }) => {
      const raw = await readRawBody(request, deps.maxBodyBytes);
      if (!verifySignature(deps.appSecret, raw, request.headers.get('x-hub-signature-256'))) {
        throw unauthorized('X-Hub-Signature-256 is missing or does not match the body');
      }
      const { items, ignored } = parseThreadControlWebhook(parseJson(raw), deps.crmAppId);
      const events: PipelineEvent[] = [];
      for (const { control, phone } of items) {
        const ticket = control.ticketId ? await queries.ticket(control.ticketId) : phone ? await queries.openTicketOf(phone) : undefined;
        const key = ticket?.phone ?? phone;
        if (!key) {
          ignored.push(`${control.event}: no known ticket or user`);
          continue;
        }
        const eventId = `meta:handover:${createHash('sha256').update(raw).digest('hex')}:${events.length}`;
        events.push(pipelineEvent('meta.thread_control', key, eventId, { ...control, ticketId: ticket?.id ?? control.ticketId }));
        deps.logger.info(
          { event: 'meta.thread_control', control: control.event, toCrm: control.toCrm, ticketId: ticket?.id, phone: maskPhone(key) },
          'thread control event',
        );
      }
      await producer.publish(events);
      if (ignored.length > 0) deps.logger.info({ event: 'meta_handover.ignored', reasons: ignored }, 'handover webhook items ignored');
      return { success: true, accepted: events.length, ignored: ignored.length };
    },
    { parse: 'none' },
  );

  return new Elysia().use(authenticated).use(metaHandover);
};
