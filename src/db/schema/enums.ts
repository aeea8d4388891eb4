import { pgEnum } from 'drizzle-orm/pg-core';
import { DELIVERY_STATUSES } from '../../domain/delivery-status';
import { OUTBOX_KINDS } from '../../domain/lanes';

export const ticketCategory = pgEnum('ticket_category', ['reactivacion_servicio', 'soporte_agente']);
export const ticketPriority = pgEnum('ticket_priority', ['alta', 'media', 'baja']);
export const ticketStatus = pgEnum('ticket_status', ['pending', 'active', 'closed']);
export const closeReason = pgEnum('close_reason', ['resolved', 'cancelled', 'crm_unreachable', 'fallback', 'abandoned', 'window_expired', 'out_of_hours']);
export const surveyStatus = pgEnum('survey_status', ['offered', 'answered', 'expired', 'skipped']);
export const messageDirection = pgEnum('message_direction', ['inbound', 'outbound']);
export const messageAuthor = pgEnum('message_author', ['user', 'bot', 'agent']);
/** A message's delivery status (domain/delivery-status.ts: the values, and the ladder they move up). */
export const deliveryStatus = pgEnum('delivery_status', DELIVERY_STATUSES);
/** What the service calls out to (domain/lanes.ts: the kinds, their destinations and lanes). */
export const outboxKind = pgEnum('outbox_kind', OUTBOX_KINDS);
export const outboxStatus = pgEnum('outbox_status', ['pending', 'in_flight', 'done', 'failed']);

export type TicketCategory = (typeof ticketCategory.enumValues)[number];
export type TicketPriority = (typeof ticketPriority.enumValues)[number];
export type TicketStatus = (typeof ticketStatus.enumValues)[number];
export type CloseReason = (typeof closeReason.enumValues)[number];
export type SurveyStatus = (typeof surveyStatus.enumValues)[number];
export type MessageAuthor = (typeof messageAuthor.enumValues)[number];
export type DeliveryStatus = (typeof deliveryStatus.enumValues)[number];
export type OutboxKind = (typeof outboxKind.enumValues)[number];
