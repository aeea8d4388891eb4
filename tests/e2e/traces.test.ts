import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { json, type RecordedRequest } from '../support/fakes';
import { activeTicketFor, crmCall, eventually, sendUser, startStack, text, type TestStack } from '../support/harness';
import { SPAN_KIND, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * Traces through the real service, exported over OTLP/HTTP to a receiver on
 * loopback (a collector's stand-in): one user message to the CRM, and one
 * agent message to WhatsApp, each one trace from the request that brought it
 * to the call that delivered it, with the ids a person follows in the logs.
 */
let receiver: OtlpReceiver;
let stack: TestStack;
beforeAll(async () => {
  receiver = startOtlpReceiver();
  // Debug: the outbox's delivery lines, the ones a support engineer reads for a message that did not arrive.
  stack = await startStack('traces', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', LOG_LEVEL: 'debug' });
});
afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
});

const bodyOf = (request: RecordedRequest) => request.body as Record<string, any>;
/** The `traceparent` a call went out with: its trace, and the client span that made it. */
const traceOf = (request: RecordedRequest) => {
  const [, traceId, spanId] = (request.headers.get('traceparent') ?? '').split('-');
  return { traceId: traceId!, spanId: spanId! };
};
/** The spans of one trace once every one named has been exported (a parent ends, and is exported, after its children). */
const exported = (traceId: string, names: string[]) =>
  eventually(
    () => {
      const spans = receiver.inTrace(traceId);
      return names.every((name) => spans.some((span) => span.name === name)) && spans;
    },
    `the spans ${names.join(', ')} exported`,
  );
const named = (spans: ReceivedSpan[], name: string) => {
  const found = spans.filter((span) => span.name === name);
  if (found.length !== 1) throw new Error(`expected one span named ${name}, got ${found.length} (${spans.map((span) => span.name).join(', ')})`);
  return found[0]!;
};

describe('one message, one trace', () => {
  test('a user message to an agent: the webhook, the stream entry, its application and the CRM call are one trace, each step the child of the one before', async () => {
    const phone = '573000007001';
    const ticketId = await activeTicketFor(stack, phone, '2020202020');
    await sendUser(stack, phone, text('se cayó el internet'));
    const call = await eventually(
      () => stack.crm.to('/api/bot/user-message').find((request) => bodyOf(request).message === 'se cayó el internet'),
      'the CRM call',
    );
    const { traceId, spanId } = traceOf(call);

    const trace = await exported(traceId, ['POST /webhook', 'stream append', 'apply user.message', 'outbox crm.user_message', 'POST CRM user-message']);
    const webhook = named(trace, 'POST /webhook');
    const append = named(trace, 'stream append');
    const apply = named(trace, 'apply user.message');
    const delivery = named(trace, 'outbox crm.user_message');
    const crmCallSpan = named(trace, 'POST CRM user-message');
    expect(webhook).toMatchObject({ parentSpanId: '', kind: SPAN_KIND.server, attributes: { 'http.route': '/webhook', 'http.response.status_code': 200 } });
    expect(append).toMatchObject({ parentSpanId: webhook.spanId, kind: SPAN_KIND.producer, attributes: { 'handover.event.types': ['user.message'] } });
    expect(apply).toMatchObject({ parentSpanId: append.spanId, kind: SPAN_KIND.consumer, attributes: { 'handover.event.type': 'user.message' } });
    expect(delivery).toMatchObject({
      parentSpanId: apply.spanId,
      attributes: { 'outbox.kind': 'crm.user_message', 'outbox.outcome': 'delivered', 'handover.ticket_id': ticketId },
    });
    // The CRM got the client span's own context: a CRM that traces continues this trace under the call.
    expect(crmCallSpan).toMatchObject({ spanId, parentSpanId: delivery.spanId, kind: SPAN_KIND.client, attributes: { 'http.response.status_code': 200 } });

    // The batch that applied the entry is a span of its own, linked to the entry (the messaging conventions), and the entry back to it.
    const batch = await eventually(
      () => receiver.spans.find((span) => span.name === 'stream process' && span.links.some((link) => link.spanId === append.spanId)),
      'the batch span',
    );
    expect(batch.kind).toBe(SPAN_KIND.consumer);
    expect(apply.links).toEqual([{ traceId: batch.traceId, spanId: batch.spanId }]);

    // One id finds the message's log lines: the delivery to the CRM is logged with it.
    const lines = stack.logs.filter((line) => line.traceId === traceId);
    expect(lines.find((line) => line.event === 'outbox.delivery' && line.kind === 'crm.user_message')).toMatchObject({ ticketId, spanId: delivery.spanId });
  });

  test("an agent's message: the CRM's trace continues through send-message, the stream, the ticket's machine and the send to WhatsApp", async () => {
    const phone = '573000007002';
    const ticketId = await activeTicketFor(stack, phone, '2020202020');
    const crmTrace = { traceId: '5b8aa5a2d2c872e8321cf37308d69df2', spanId: '051581bf3cb55c13' };
    const answer = await crmCall(
      stack,
      'POST',
      '/api/crm/send-message',
      { ticketId, userPhone: phone, agentId: 'agent_007', message: '¿ya le funciona?', messageType: 'text' },
      { traceparent: `00-${crmTrace.traceId}-${crmTrace.spanId}-01` },
    );
    expect(answer.status).toBe(200);
    const send = await eventually(() => stack.graph.requests.find((request) => bodyOf(request)?.text?.body === '¿ya le funciona?'), 'the send to WhatsApp');
    expect(traceOf(send).traceId).toBe(crmTrace.traceId);

    const trace = await exported(crmTrace.traceId, [
      'POST /api/crm/send-message',
      'stream append',
      'apply crm.message',
      'outbox whatsapp.send',
      'POST Graph messages',
    ]);
    const request = named(trace, 'POST /api/crm/send-message');
    const append = named(trace, 'stream append');
    const apply = named(trace, 'apply crm.message');
    const delivery = named(trace, 'outbox whatsapp.send');
    const graphCall = named(trace, 'POST Graph messages');
    expect(request).toMatchObject({ parentSpanId: crmTrace.spanId, kind: SPAN_KIND.server, attributes: { 'http.response.status_code': 200 } });
    expect(append.parentSpanId).toBe(request.spanId);
    expect(apply.parentSpanId).toBe(append.spanId);
    expect(delivery).toMatchObject({
      parentSpanId: apply.spanId,
      attributes: { 'outbox.kind': 'whatsapp.send', 'outbox.attempt': 1, 'outbox.outcome': 'delivered' },
    });
    expect(graphCall).toMatchObject({ spanId: traceOf(send).spanId, parentSpanId: delivery.spanId, kind: SPAN_KIND.client });
    // No phone number in any attribute of the trace.
    expect(JSON.stringify(trace)).not.toContain(phone);
  });

  test("a send WhatsApp refuses once and takes on the retry: both attempts are in the message's trace, the first marked failed", async () => {
    const phone = '573000007003';
    const ticketId = await activeTicketFor(stack, phone, '2020202020');
    let refused = 0;
    const release = stack.graph.respond((request) =>
      bodyOf(request)?.text?.body === 'segundo intento' && refused++ === 0 ? json({ error: { message: 'service unavailable', code: 131016 } }, 503) : undefined,
    );
    try {
      expect(
        (await crmCall(stack, 'POST', '/api/crm/send-message', { ticketId, userPhone: phone, message: 'segundo intento', messageType: 'text' })).status,
      ).toBe(200);
      const sends = await eventually(
        () => {
          const found = stack.graph.requests.filter((request) => bodyOf(request)?.text?.body === 'segundo intento');
          return found.length === 2 && found[1]!.status === 200 && found;
        },
        'the send retried',
        15_000,
      );
      const { traceId } = traceOf(sends[0]!);
      expect(traceOf(sends[1]!).traceId).toBe(traceId);
      const attempts = await eventually(
        () => {
          const found = receiver.inTrace(traceId).filter((span) => span.name === 'outbox whatsapp.send');
          return found.length === 2 && found;
        },
        'both attempts exported',
        15_000,
      );
      attempts.sort((a, b) => Number(a.attributes['outbox.attempt']) - Number(b.attributes['outbox.attempt']));
      expect(attempts.map((span) => [span.attributes['outbox.attempt'], span.attributes['outbox.outcome'], span.status.code ?? 0])).toEqual([
        [1, 'retry', 2],
        [2, 'delivered', 0],
      ]);
      expect(attempts[0]!.status.message).toContain('503');
      // Both are children of the same step: the application of the agent's message.
      expect(attempts[0]!.parentSpanId).toBe(attempts[1]!.parentSpanId);
    } finally {
      release();
    }
  });
});
