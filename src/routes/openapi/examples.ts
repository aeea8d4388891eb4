/**
 * One conversation, told as the bodies each side of the contract sends: Juan
 * Pérez (suspended, customer 12345) asks for support, María González takes
 * his ticket and answers. /openapi.json shows them as each body's example,
 * so the reference reads as real traffic rather than empty strings; a test
 * checks every one against its schema.
 */
const ticketId = 'TK-2026-000123';
const userPhone = '573001234567';
const userId = 'CO.2718281828459045';
/** The number Juan wrote to (Meta's phone_number_id), named in every CRM call and in the status. */
const businessPhoneNumberId = '106540352242922';
const waMessageId = 'wamid.HBgMNTczMDAxMjM0NTY3FQIAEhggQjVGRDRDMEE5QkQ2';
const requestedAt = '2026-11-05T14:02:11.000Z';
const assignedAt = '2026-11-05T14:03:40.000Z';
const wroteAt = '2026-11-05T14:04:02.000Z';
/** The privacy notice a subscriber was sent (its version: a digest of the text, or PRIVACY_NOTICE_VERSION) and when. */
const privacyNotice = { version: '3f9a1c07d2e4', sentAt: wroteAt };
/** The phone Juan writes from after changing number (an identity change). */
const newPhone = '573157654321';

const metaEnvelope = (field: string, value: Record<string, unknown>) => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      changes: [
        {
          field,
          value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '573009999999', phone_number_id: businessPhoneNumberId }, ...value },
        },
      ],
    },
  ],
});

const durations = (count: number, median: number, p90: number) => ({ count, averageSeconds: median + 4.5, medianSeconds: median, p90Seconds: p90 });
const kpis = (tickets: number, reactivation: number) => ({
  tickets,
  categories: { reactivacion_servicio: reactivation, soporte_agente: tickets - reactivation },
  handoverWait: durations(tickets, 68, 94),
  agentFirstResponse: durations(tickets - 1, 30, 41),
  resolutionTime: durations(tickets - 1, 1620, 2710),
  closed: tickets,
  resolved: tickets - 1,
  resolutionRate: (tickets - 1) / tickets,
  closeReasons: { resolved: tickets - 1, cancelled: 1, abandoned: 0, fallback: 0, window_expired: 0, out_of_hours: 0, crm_unreachable: 0 },
  csat: { average: 4.2, offered: tickets - 1, responses: 5, responseRate: 5 / (tickets - 1), distribution: { '1': 0, '2': 0, '3': 1, '4': 2, '5': 2 } },
  escalations: 1,
  escalatedTickets: 1,
  fallbacks: 0,
  billable: { messages: 2, byCategory: { utility: 2 }, estimatedCost: 0.0016, currency: 'USD' },
});

export const EXAMPLES = {
  metaMessage: metaEnvelope('messages', {
    contacts: [{ profile: { name: 'Juan' }, wa_id: userPhone, user_id: userId }],
    messages: [{ from: userPhone, from_user_id: userId, id: waMessageId, timestamp: '1793887442', type: 'text', text: { body: 'Gracias, pagué ayer' } }],
  }),
  metaThreadControl: metaEnvelope('messaging_handovers', {
    event: 'pass_thread_control',
    thread_control: { app_id: '1234567890123456', metadata: JSON.stringify({ ticket_id: ticketId }) },
  }),
  webhookAccepted: { success: true, accepted: 1, ignored: 0 },

  take: {
    ticketId,
    userPhone,
    handoverType: 'bot_to_human',
    agentId: 'agent_042',
    agentName: 'María González',
    metadata: { queue: 'reactivaciones' },
  },
  giveBack: { ticketId, userPhone, handoverType: 'human_to_bot', agentId: 'agent_042', agentName: 'María González' },
  liveBoard: {
    at: '2026-11-30T15:04:10.000Z',
    counts: { waiting: 1, escalated: 0, withAgent: 1, fallbacks: 0, byPhase: { waiting_agent: 1, with_agent: 1 } },
    waiting: [
      {
        ticketId: 'TK-2026-000143',
        position: 1,
        category: 'reactivacion_servicio',
        priority: 'alta',
        phase: 'waiting_agent',
        escalations: 0,
        requestedAt: '2026-11-30T15:02:55.000Z',
        agent: null,
      },
    ],
    escalated: [],
    fallbacks: [],
    withAgent: [
      {
        ticketId,
        category: 'soporte_agente',
        priority: 'media',
        phase: 'with_agent',
        agent: { id: 'agent_042', name: 'María González' },
        assignedAt: '2026-11-30T14:51:00.000Z',
        lastActivityAt: '2026-11-30T15:03:41.000Z',
      },
    ],
    agents: [{ id: 'agent_042', name: 'María González', open: 1, ticketIds: [ticketId] }],
  },
  typing: { ticketId, agentId: 'agent_042' },
  read: { ticketId, agentId: 'agent_042', upTo: waMessageId },
  textMessage: {
    ticketId,
    userPhone,
    agentId: 'agent_042',
    messageType: 'text',
    message: 'Hola Juan, soy María. Ya veo su pago de ayer: en unos minutos reactivamos el servicio.',
    replyTo: waMessageId,
  },
  documentMessage: {
    ticketId,
    userPhone,
    agentId: 'agent_042',
    messageType: 'document',
    message: 'https://crm.conecta2tel.example/files/paz-y-salvo-12345.pdf',
    filename: 'paz-y-salvo.pdf',
    caption: 'Su paz y salvo',
  },
  applied: { success: true, applied: true, message: 'Handover processed successfully', ticketId },
  notAppliedYet: { success: true, applied: false, message: 'Accepted, not applied yet: it will be applied in order shortly', ticketId },

  ticketStatus: {
    ticketId,
    businessPhoneNumberId,
    userPhone,
    userId,
    username: 'juanperez',
    status: 'active',
    phase: 'with_agent',
    closeReason: null,
    category: 'reactivacion_servicio',
    priority: 'alta',
    assignedAgent: { id: 'agent_042', name: 'María González' },
    startTime: requestedAt,
    assignedTime: assignedAt,
    closedTime: null,
    lastActivity: wroteAt,
    lastUserMessage: wroteAt,
    lastUserMessageType: 'text',
    lastUserMessageText: 'Gracias, pagué ayer',
    messageCount: 3,
    escalations: 0,
    survey: null,
    cost: { billableMessages: 1, byCategory: { utility: 1 }, estimatedCost: 0.0008, currency: 'USD' },
  },

  kpiReport: {
    range: { from: '2026-11-01', to: '2026-11-01', timeZone: 'America/Bogota', fromInstant: '2026-11-01T05:00:00.000Z', toInstant: '2026-11-02T05:00:00.000Z' },
    groupBy: 'day',
    percentiles: { exact: true, relativeError: 0 },
    totals: kpis(7, 3),
    groups: [{ key: '2026-11-01', label: '2026-11-01', kpis: kpis(7, 3) }],
  },
  deadLetterPage: {
    total: 1,
    entries: [{ id: '1793887442000-0', event: { type: 'user.message', id: `wa:msg:${waMessageId}`, key: '57300****567', at: wroteAt } }],
    next: null,
  },
  redrive: { ids: ['1793887442000-0'] },
  redriven: { success: true, redriven: ['1793887442000-0'], missing: [] },
  subscriberExport: {
    success: true,
    found: true,
    exportedAt: wroteAt,
    ids: {
      phones: ['573001234567'],
      userIds: ['CO.1047385771169864'],
      usernames: [],
      documents: ['1010101010'],
      customerIds: ['12345'],
      conversationKeys: ['573001234567'],
    },
    conversations: [{ conversationKey: '573001234567', userPhone: '573001234567', userId: 'CO.1047385771169864', state: '"menu"', privacyNotice }],
    tickets: [{ ticketId, status: 'closed', closeReason: 'resolved', events: [{ type: 'requested', data: {}, at: wroteAt }] }],
    messages: [
      {
        id: 1,
        ticketId,
        direction: 'inbound',
        author: 'user',
        type: 'image',
        body: null,
        media: [{ id: '1044870553860331', mimeType: 'image/jpeg' }],
        at: wroteAt,
      },
    ],
    surveys: [{ ticketId, status: 'answered', csat: 5 }],
    customers: [{ customerId: '12345', customerName: 'Juan Pérez', document: '1010101010', phone: '573001234567', isInactive: true }],
  },
  erase: { phone: '573001234567' },
  erasure: {
    success: true,
    found: true,
    requestId: 7,
    erased: {
      conversations: 1,
      tickets: 1,
      ticketEvents: 6,
      messages: 14,
      timers: 0,
      outbox: 0,
      dedupeRecords: 0,
      customers: 0,
      mediaFiles: 1,
      redisIds: 3,
      streamEntries: 12,
    },
    crmNotifiedOf: [ticketId],
  },
  subscriberErased: { erasureId: '7', ticketIds: [ticketId], timestamp: wroteAt },
  live: { status: 'ok' },
  ready: { status: 'ready', checks: { redis: 'ok', database: 'ok' } },

  agentRequest: {
    ticketId,
    userPhone,
    userId,
    username: 'juanperez',
    userContext: {
      phoneNumber: userPhone,
      customerId: '12345',
      customerName: 'Juan Pérez',
      isAuthenticated: true,
      lastActivity: requestedAt,
      sessionInfo: { hasActiveSession: true, sessionStart: '2026-11-05T14:01:20.000Z' },
    },
    priority: 'alta',
    category: 'reactivacion_servicio',
    serviceSuspended: true,
    requestTime: requestedAt,
    businessPhoneNumberId,
  },
  agentRequestAnswer: { agentAssigned: { id: 'agent_042', name: 'María González', estimatedResponseTime: '5 minutos' }, queuePosition: 2 },
  userMessage: {
    ticketId,
    userPhone,
    userId,
    username: 'juanperez',
    message: 'Gracias, pagué ayer',
    messageType: 'text',
    waMessageId,
    timestamp: wroteAt,
    businessPhoneNumberId,
  },
  userPhoto: {
    ticketId,
    userPhone,
    userId,
    message: 'Así está el router',
    messageType: 'image',
    mediaId: '1044870553860331',
    mediaUrl: 'https://handover.conecta2tel.example/api/crm/media/1044870553860331',
    mimeType: 'image/jpeg',
    sha256: 'b1946ac92492d2347c6235b4d2611184b1946ac92492d2347c6235b4d2611184',
    caption: 'Así está el router',
    waMessageId: 'wamid.HBgMNTczMDAxMjM0NTY3FQIAEhggMUI0RkQ2OUE3QzU1',
    timestamp: '2026-11-05T14:04:40.000Z',
    businessPhoneNumberId,
  },
  escalated: {
    ticketId,
    userPhone,
    userId,
    status: 'pending',
    reason: 'escalated',
    priority: 'alta',
    timestamp: '2026-11-05T14:07:11.000Z',
    businessPhoneNumberId,
  },
  rated: { ticketId, userPhone, userId, status: 'closed', reason: 'csat', csat: 5, timestamp: '2026-11-05T14:31:02.000Z', businessPhoneNumberId },
  identityChanged: { ticketId, userPhone: newPhone, userId, status: 'active', reason: 'identity_changed', previousUserPhone: userPhone, timestamp: wroteAt },
};

/** Each DESIGN 2.1 error status with an answer the service really gives for it. */
export const ERROR_EXAMPLES: Record<number, { error: string; message: string }> = {
  400: { error: 'invalid_request', message: 'ticketId: Expected string length greater or equal to 1' },
  401: { error: 'unauthorized', message: 'missing or invalid credentials' },
  403: { error: 'verification_failed', message: 'hub.mode must be subscribe and hub.verify_token must match WEBHOOK_VERIFY_TOKEN' },
  404: { error: 'ticket_not_found', message: `ticket ${ticketId} does not exist` },
  409: { error: 'ticket_closed', message: `ticket ${ticketId} is closed; the bot has the conversation` },
  410: {
    error: 'media_expired',
    message: 'WhatsApp no longer has media 1044870553860331 and it was not kept here (media are kept by WhatsApp for a limited time)',
  },
  413: { error: 'payload_too_large', message: 'request body exceeds 1048576 bytes' },
  429: { error: 'rate_limited', message: 'too many requests; retry in 2s' },
  500: { error: 'internal_error', message: 'internal error; the event was not accepted, retry later' },
  502: { error: 'media_unavailable', message: 'could not download media 1044870553860331 from WhatsApp; retry later' },
  503: { error: 'queue_unavailable', message: 'event queue unreachable: Connection is closed.' },
};
