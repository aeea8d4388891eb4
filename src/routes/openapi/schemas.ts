import { Type, type TSchema } from '@sinclair/typebox';
import { closeReason, surveyStatus, ticketCategory, ticketPriority, ticketStatus } from '../../db/schema/enums';

/**
 * What the service answers and what it sends to the CRM, as JSON Schema for
 * /openapi.json. The request models stay in each feature's model.ts; these
 * are the other half of the contract (DESIGN 2.1, 2.2), kept beside the
 * document that publishes them.
 */
export namespace ApiSchemas {
  const oneOf = (values: readonly string[]) => Type.Union(values.map((value) => Type.Literal(value)));
  const Instant = Type.String({ format: 'date-time' });
  const Nullable = <S extends TSchema>(schema: S) => Type.Union([schema, Type.Null()]);

  /** Every error (DESIGN 2.1): `error` is a stable code for programs, `message` a sentence for people. */
  export const error = Type.Object({ success: Type.Literal(false), error: Type.String(), message: Type.String() }, { $id: 'Error' });

  /** A CRM request whose event is applied: the CRM's next call, to any instance, sees it (DESIGN 2.1). */
  /** Only when the request named the user's phone or BSUID from before an identity change (within IDENTITY_CHANGE_GRACE_S): the current ones. */
  const currentUser = {
    userPhone: Type.Optional(Type.String({ description: "the user's phone now: present only when the request named the one they had before" })),
    userId: Type.Optional(Type.String({ description: "the user's BSUID now: present only when the request named a phone or BSUID they had before" })),
  };
  export const applied = Type.Object({
    success: Type.Literal(true),
    applied: Type.Literal(true),
    message: Type.String(),
    ticketId: Type.String(),
    ...currentUser,
  });
  /** Accepted and durable, not applied within CRM_APPLY_TIMEOUT_MS: it is applied later, in order. */
  export const notAppliedYet = Type.Object({
    success: Type.Literal(true),
    applied: Type.Literal(false),
    message: Type.String(),
    ticketId: Type.String(),
    ...currentUser,
  });
  export const webhookAccepted = Type.Object({
    success: Type.Literal(true),
    accepted: Type.Integer({ minimum: 0, description: 'events queued' }),
    ignored: Type.Integer({ minimum: 0, description: 'parts of the delivery that were not for this service (logged)' }),
  });

  export const ticketStatusAnswer = Type.Object({
    ticketId: Type.String(),
    businessPhoneNumberId: Nullable(Type.String({ description: "the WhatsApp number (Meta's phone_number_id) the user wrote to" })),
    userPhone: Nullable(Type.String()),
    userId: Nullable(Type.String({ description: 'the BSUID (DESIGN 2.6)' })),
    username: Nullable(Type.String()),
    status: oneOf(ticketStatus.enumValues),
    phase: Type.String({ description: 'the machine state, richer than status (e.g. waiting_agent, with_agent, survey)' }),
    closeReason: Nullable(oneOf(closeReason.enumValues)),
    category: oneOf(ticketCategory.enumValues),
    priority: oneOf(ticketPriority.enumValues),
    assignedAgent: Nullable(Type.Object({ id: Type.String(), name: Nullable(Type.String()) })),
    startTime: Instant,
    assignedTime: Nullable(Instant),
    closedTime: Nullable(Instant),
    lastActivity: Instant,
    lastUserMessage: Nullable(Instant),
    lastUserMessageType: Nullable(Type.String()),
    lastUserMessageText: Nullable(Type.String({ description: 'the text, else `[type]` and its caption, file name or place' })),
    messageCount: Type.Integer({ minimum: 0, description: 'messages between the user and the agent, both directions' }),
    escalations: Type.Integer({ minimum: 0 }),
    survey: Nullable(Type.Object({ status: oneOf(surveyStatus.enumValues), csat: Nullable(Type.Integer({ minimum: 1, maximum: 5 })) })),
    cost: Type.Object(
      {
        billableMessages: Type.Integer({ minimum: 0 }),
        byCategory: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'marketing, utility, authentication, service...' }),
        estimatedCost: Nullable(Type.Number({ description: 'from WHATSAPP_RATE_CARD; null without one' })),
        currency: Nullable(Type.String()),
      },
      { description: "what WhatsApp charges for this ticket's messages, from their status webhooks' pricing" },
    ),
  });

  const durations = Type.Object({
    count: Type.Integer(),
    averageSeconds: Nullable(Type.Number()),
    medianSeconds: Nullable(Type.Number()),
    p90Seconds: Nullable(Type.Number()),
  });
  const countsOf = (names: readonly string[]) => Type.Object(Object.fromEntries(names.map((name) => [name, Type.Integer()])));
  const kpis = Type.Object({
    tickets: Type.Integer(),
    categories: countsOf(ticketCategory.enumValues),
    handoverWait: durations,
    agentFirstResponse: durations,
    resolutionTime: durations,
    closed: Type.Integer(),
    resolved: Type.Integer(),
    resolutionRate: Nullable(Type.Number()),
    closeReasons: countsOf(closeReason.enumValues),
    csat: Type.Object({
      average: Nullable(Type.Number()),
      offered: Type.Integer(),
      responses: Type.Integer(),
      responseRate: Nullable(Type.Number()),
      distribution: countsOf(['1', '2', '3', '4', '5']),
    }),
    escalations: Type.Integer(),
    escalatedTickets: Type.Integer(),
    fallbacks: Type.Integer(),
    billable: Type.Object({
      messages: Type.Integer(),
      byCategory: Type.Record(Type.String(), Type.Integer()),
      estimatedCost: Nullable(Type.Number()),
      currency: Nullable(Type.String()),
    }),
  });
  export const kpiReport = Type.Object({
    range: Type.Object({ from: Type.String(), to: Type.String(), timeZone: Type.String(), fromInstant: Instant, toInstant: Instant }),
    groupBy: Nullable(oneOf(['day', 'agent', 'category', 'number'])),
    percentiles: Type.Object(
      { exact: Type.Boolean(), relativeError: Type.Number() },
      { description: 'medians and p90s: exact, or (a range of more than 20,000 tickets, read from daily rollups) within relativeError of the exact value' },
    ),
    totals: kpis,
    groups: Type.Array(Type.Object({ key: Type.String(), label: Type.String(), kpis })),
  });

  const deadLetter = Type.Object({
    id: Type.String(),
    event: Type.Union([
      Type.Object({ type: Type.String(), id: Type.String(), key: Type.String({ description: 'masked' }), at: Type.String() }),
      Type.Object({ undecodable: Type.String() }),
    ]),
  });
  export const deadLetterPage = Type.Object({ total: Type.Integer(), entries: Type.Array(deadLetter), next: Nullable(Type.String()) });
  export const redriven = Type.Object({ success: Type.Literal(true), redriven: Type.Array(Type.String()), missing: Type.Array(Type.String()) });

  const rows = Type.Array(Type.Record(Type.String(), Type.Unknown()));
  export const subscriberExport = Type.Object({
    success: Type.Literal(true),
    found: Type.Boolean({ description: 'false: nothing is held under these identifiers' }),
    exportedAt: Instant,
    ids: Type.Record(Type.String(), Type.Array(Type.String()), {
      description: 'every id held: phones, userIds (BSUIDs), parentUserIds, usernames, documents, customerIds, conversationKeys',
    }),
    conversations: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
      description:
        'each with the ids it knows, its state, and `privacyNotice`: the version of the privacy notice the subscriber was last sent and when (null: never)',
    }),
    tickets: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: 'each with its events (state changes) in order' }),
    messages: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: 'in and out, each with its media list' }),
    surveys: rows,
    customers: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: 'the directory rows they authenticated as (customers table)' }),
  });
  export const erasure = Type.Object({
    success: Type.Literal(true),
    found: Type.Boolean(),
    requestId: Type.Integer({ description: 'the privacy_requests row that records it' }),
    erased: Type.Record(Type.String(), Type.Integer(), { description: 'what was deleted, per store' }),
    crmNotifiedOf: Type.Array(Type.String(), { description: 'the tickets named in the subscriber-erased call to the CRM (none: no call)' }),
  });
  export const subscriberErased = Type.Object({
    erasureId: Type.String({ description: 'the erasure, as recorded here (privacy_requests)' }),
    ticketIds: Type.Array(Type.String(), { description: "the erased subscriber's tickets: erase them and what they name" }),
    timestamp: Instant,
  });

  export const live = Type.Object({ status: Type.Literal('ok') });
  export const ready = Type.Object({
    status: oneOf(['ready', 'not_ready']),
    checks: Type.Record(Type.String(), Type.String()),
    partitions: Type.Optional(Type.Unknown({ description: 'the stream partitions this instance holds; never decides readiness' })),
    templates: Type.Optional(
      Type.Unknown({
        description:
          'what Meta last said of each template the service sends (status, category, when): a paused re-engagement template shows here; never decides readiness',
      }),
    ),
  });

  /** The user as every call to the CRM names them (DESIGN 2.6): at least one of userPhone and userId. */
  const user = {
    userPhone: Type.Optional(Type.String()),
    userId: Type.Optional(Type.String({ description: 'the BSUID, when Meta gave one' })),
    username: Type.Optional(Type.String()),
    businessPhoneNumberId: Type.Optional(
      Type.String({ description: "the WhatsApp number (Meta's phone_number_id) the user wrote to; absent when none is configured" }),
    ),
  };

  export const agentRequest = Type.Object({
    ticketId: Type.String(),
    ...user,
    userContext: Type.Object({
      phoneNumber: Type.Optional(Type.String()),
      customerId: Type.String(),
      customerName: Type.String(),
      isAuthenticated: Type.Boolean(),
      lastActivity: Instant,
      sessionInfo: Type.Object({ hasActiveSession: Type.Boolean(), sessionStart: Instant }),
    }),
    priority: oneOf(ticketPriority.enumValues),
    category: oneOf(ticketCategory.enumValues),
    serviceSuspended: Type.Boolean(),
    requestTime: Instant,
  });
  export const agentRequestAnswer = Type.Object({
    agentAssigned: Type.Optional(
      Type.Object({
        id: Type.Optional(Type.Union([Type.String(), Type.Number()])),
        name: Type.Optional(Type.String()),
        estimatedResponseTime: Type.Optional(Type.String({ description: 'told to the user as is, e.g. "5 minutos"' })),
      }),
    ),
    queuePosition: Type.Optional(Type.Integer({ minimum: 1 })),
  });
  export const userMessage = Type.Object({
    ticketId: Type.String(),
    ...user,
    message: Type.String(),
    messageType: Type.String({ description: 'text, image, document, audio, video, location, contacts, interactive...' }),
    mediaId: Type.Optional(Type.String()),
    mediaUrl: Type.Optional(Type.String({ description: 'GET it with Bearer CRM_API_TOKEN: /api/crm/media/{mediaId} on this service' })),
    mimeType: Type.Optional(Type.String()),
    fileName: Type.Optional(Type.String()),
    sha256: Type.Optional(Type.String()),
    caption: Type.Optional(Type.String()),
    replyTo: Type.Optional(Type.String({ description: 'the message replied to, as the CRM knows it (its Idempotency-Key or the waMessageId)' })),
    replyToWaMessageId: Type.Optional(Type.String()),
    reaction: Type.Optional(Type.Object({ messageId: Type.String(), waMessageId: Type.String(), emoji: Type.String() })),
    edit: Type.Optional(
      Type.Object(
        { messageId: Type.String(), waMessageId: Type.String() },
        { description: 'messageType edit: the message the user changed; `message` is its new text' },
      ),
    ),
    revoke: Type.Optional(
      Type.Object({ messageId: Type.String(), waMessageId: Type.String() }, { description: 'messageType revoke: the message the user deleted for everyone' }),
    ),
    location: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    contacts: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
    waMessageId: Type.String(),
    timestamp: Instant,
  });
  export const ticketUpdate = Type.Object({
    ticketId: Type.String(),
    ...user,
    status: oneOf(ticketStatus.enumValues),
    reason: oneOf([
      ...closeReason.enumValues,
      'escalated',
      'supervisor_queue',
      'agent_reminder',
      'csat',
      'survey_expired',
      'survey_skipped',
      'message_failed',
      'business_message',
      'call',
      'identity_changed',
    ]),
    previousUserPhone: Type.Optional(
      Type.String({
        description: 'identity_changed: the phone the user had until now (userPhone is the new one); calls naming it are accepted for IDENTITY_CHANGE_GRACE_S',
      }),
    ),
    previousUserId: Type.Optional(
      Type.String({ description: 'identity_changed: the BSUID the user had until now (userId is the new one), after a user_id_update' }),
    ),
    message: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'business_message: what the business sent from the WhatsApp Business app (sentFrom) or another responder; message_failed: the message',
      }),
    ),
    call: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'call: the user called the number (callId, event, at, direction, status, durationS)' }),
    ),
    priority: Type.Optional(oneOf(ticketPriority.enumValues)),
    csat: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })),
    timestamp: Instant,
  });
}
