import { afterAll, describe, expect, test } from 'bun:test';
import type { OutboxRow } from '../../../../src/db/schema';
import { classifyMarkAnswer, createWhatsAppClient } from '../../../../src/integrations/whatsapp';
import {
  buttonsMessage,
  listMessage,
  mediaMessage,
  readMark,
  templateMessage,
  textMessage,
  type WhatsAppMessage,
} from '../../../../src/integrations/whatsapp-messages';
import { agentMessageFailure, createWhatsAppDeliverer, TYPING_SHELF_LIFE_MS } from '../../../../src/outbox/deliverers/whatsapp';
import { json, startFakeGraph } from '../../../support/fakes';

const PHONE = '573001112233';
const TO = { to: PHONE };

function sendRow(payload: WhatsAppMessage, values: Partial<OutboxRow> = {}): OutboxRow {
  return {
    id: 7,
    kind: 'whatsapp.send',
    lane: `wa:${PHONE}`,
    payload,
    idempotencyKey: 'crm:send-message:key:abc#0',
    ticketId: 'TK-2026-000001',
    author: 'agent',
    status: 'in_flight',
    attempts: 1,
    nextAttemptAt: new Date(),
    lockedUntil: null,
    claimedBy: null,
    lastError: null,
    response: null,
    createdAt: new Date(),
    completedAt: null,
    inDoubtSince: null,
    traceparent: null,
    ...values,
  };
}

describe("an agent's send refused for good goes back to its ticket as an event", () => {
  test('131047 is named outside_window, on the user’s partition, with the words as the agent wrote them', () => {
    const event = agentMessageFailure(sendRow(textMessage(TO, 'Ya quedó')), { code: 131047, title: 'Re-engagement message' }, 'answered 400');
    expect(event).toMatchObject({
      type: 'whatsapp.agent_message.failed',
      key: PHONE,
      id: 'outbox:7:failed',
      data: {
        ticketId: 'TK-2026-000001',
        outboxKey: 'crm:send-message:key:abc#0',
        reason: 'outside_window',
        sentAs: 'free_form',
        message: { type: 'text', body: 'Ya quedó', waMessageId: null },
        error: { code: 131047, title: 'Re-engagement message' },
      },
    });
  });

  test('any other code is a refusal; without a Graph error the failure itself is the title', () => {
    const event = agentMessageFailure(sendRow(textMessage(TO, 'hola')), undefined, 'answered 400 Bad Request');
    expect(event?.data).toMatchObject({ reason: 'refused', error: { title: 'answered 400 Bad Request' } });
  });

  test('a document carries its link and caption, so a template can carry the caption', () => {
    const document = mediaMessage(TO, 'document', { url: 'https://cdn.example/f.pdf', caption: 'Factura', filename: 'f.pdf' });
    expect(agentMessageFailure(sendRow(document), { code: 131053 }, 'x')?.data).toMatchObject({
      sentAs: 'free_form',
      message: { type: 'document', body: 'https://cdn.example/f.pdf', media: { url: 'https://cdn.example/f.pdf', caption: 'Factura', filename: 'f.pdf' } },
    });
  });

  test('a template send says so, with the words it carried', () => {
    const template = templateMessage(TO, 'seguimiento_agente', 'es', 'Ya quedó');
    expect(agentMessageFailure(sendRow(template), { code: 131026 }, 'x')?.data).toMatchObject({ sentAs: 'template', message: { body: 'Ya quedó' } });
  });

  test("a bot's send, or one that belongs to no ticket, has no one to tell", () => {
    expect(agentMessageFailure(sendRow(textMessage(TO, 'menú'), { author: 'bot' }), { code: 131047 }, 'x')).toBeUndefined();
    expect(agentMessageFailure(sendRow(textMessage(TO, 'hola'), { ticketId: null }), { code: 131047 }, 'x')).toBeUndefined();
  });
});

describe('a message type WhatsApp will not send to a BSUID (131062)', () => {
  const BSUID = 'CO.1047385771169864';
  const graph = startFakeGraph();
  afterAll(() => graph.stop());
  const deliverer = createWhatsAppDeliverer({
    whatsapp: createWhatsAppClient({ apiUrl: graph.url, token: 'token', phoneNumberId: '1234567890', timeoutMs: 2000 }),
    sendPermit: async () => {},
  });
  const refuseInteractive = () =>
    graph.respond((request) =>
      (request.body as WhatsAppMessage).type === 'interactive'
        ? json({ error: { code: 131062, message: 'Business-scoped User ID recipients are not supported for this message' } }, 400)
        : undefined,
    );

  test('a menu goes once more as plain text to the same recipient, its buttons numbered, and the text is the delivery', async () => {
    refuseInteractive();
    const menu = buttonsMessage({ recipient: BSUID }, '¿En qué te ayudo?', [
      { id: 'menu.support', title: 'Soporte' },
      { id: 'menu.identify', title: 'Identificarme' },
    ]);
    const before = graph.requests.length;
    const result = await deliverer.deliver(sendRow(menu, { author: 'bot', lane: `wa:${BSUID}` }));
    const sent = graph.requests.slice(before).map((request) => request.body as Record<string, any>);
    expect(sent.map((body) => body.type)).toEqual(['interactive', 'text']);
    expect(sent[1]).toMatchObject({ recipient: BSUID, text: { body: '¿En qué te ayudo?\n1. Soporte\n2. Identificarme' } });
    expect(sent[1]!.to).toBeUndefined();
    expect(result).toMatchObject({ outcome: { ok: true }, waMessageId: expect.stringMatching(/^wamid\.fake\./) });
  });

  test('a list is numbered row by row; a text refused with 131062 too is final, never a loop', async () => {
    graph.respond(() => json({ error: { code: 131062, message: 'not supported' } }, 400));
    const survey = listMessage({ recipient: BSUID }, '¿Cómo te atendimos?', 'Calificar', [
      { id: 'csat.1', title: 'Muy mal' },
      { id: 'csat.2', title: 'Mal' },
    ]);
    const before = graph.requests.length;
    const result = await deliverer.deliver(sendRow(survey, { author: 'bot', lane: `wa:${BSUID}` }));
    const sent = graph.requests.slice(before).map((request) => request.body as Record<string, any>);
    expect(sent.map((body) => body.type)).toEqual(['interactive', 'text']);
    expect(sent[1]!.text.body).toBe('¿Cómo te atendimos?\n1. Muy mal\n2. Mal');
    expect(result.outcome).toMatchObject({ ok: false, retryable: false, graphError: { code: 131062 } });
  });

  test('a refused text is not re-sent', async () => {
    graph.respond(() => json({ error: { code: 131062, message: 'not supported' } }, 400));
    const before = graph.requests.length;
    await deliverer.deliver(sendRow(textMessage({ recipient: BSUID }, 'hola'), { author: 'bot', lane: `wa:${BSUID}` }));
    expect(graph.requests.length - before).toBe(1);
  });

  test("an agent's refused message is fed back on the conversation's partition, which the lane names", () => {
    const event = agentMessageFailure(sendRow(textMessage({ recipient: BSUID }, 'hola'), { lane: `wa:${BSUID}` }), { code: 131062 }, 'x');
    expect(event).toMatchObject({ key: BSUID, data: { reason: 'refused', error: { code: 131062 } } });
  });
});

describe('read marks and typing indicators', () => {
  const graph = startFakeGraph();
  afterAll(() => graph.stop());
  let permits = 0;
  const deliverer = createWhatsAppDeliverer({
    whatsapp: createWhatsAppClient({ apiUrl: `${graph.url}/v21.0`, token: 'token', phoneNumberId: '1234567890', timeoutMs: 2000 }),
    sendPermit: async () => void permits++,
  });
  const markRow = (kind: 'whatsapp.read' | 'whatsapp.typing', values: Partial<OutboxRow> = {}) =>
    sendRow(textMessage(TO, 'unused'), { kind, payload: readMark('wamid.user.1', kind === 'whatsapp.typing'), ...values });

  test("go to the number's messages endpoint as Graph documents them, each behind a send-rate permit, and Graph's success is the delivery", async () => {
    graph.requests.length = 0;
    permits = 0;
    const typing = await deliverer.deliver(markRow('whatsapp.typing'));
    const read = await deliverer.deliver(markRow('whatsapp.read'));
    expect([typing.outcome.ok, read.outcome.ok]).toEqual([true, true]);
    expect(graph.requests.map((request) => [request.path, request.body])).toEqual([
      ['/v21.0/1234567890/messages', { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.user.1', typing_indicator: { type: 'text' } }],
      ['/v21.0/1234567890/messages', { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.user.1' }],
    ]);
    expect(permits).toBe(2);
  });

  test('a typing indicator older than WhatsApp shows one is dropped without a call: shown late it would sit under the reply', async () => {
    graph.requests.length = 0;
    const stale = await deliverer.deliver(markRow('whatsapp.typing', { createdAt: new Date(Date.now() - TYPING_SHELF_LIFE_MS - 1000) }));
    expect(stale.skipped).toMatch(/older than 25 s/);
    expect(graph.requests).toHaveLength(0);
  });

  test('a read mark is sent whatever its age: the agent did read', async () => {
    graph.requests.length = 0;
    const old = await deliverer.deliver(markRow('whatsapp.read', { createdAt: new Date(Date.now() - 3_600_000) }));
    expect(old.outcome.ok).toBe(true);
    expect(graph.requests).toHaveLength(1);
  });

  test("a refused read mark tells no ticket: it is not an agent's message lost", () => {
    expect(agentMessageFailure(markRow('whatsapp.read'), { code: 100, title: 'Invalid parameter' }, 'answered 400')).toBeUndefined();
  });

  test('Graph answering without success: true is a failure, not a delivery', () => {
    expect(classifyMarkAnswer({ ok: true, status: 200, body: {} })).toMatchObject({ ok: false, retryable: false });
    expect(classifyMarkAnswer({ ok: false, retryable: false, status: 400, error: 'answered 400', body: { error: { code: 131016 } } })).toMatchObject({
      ok: false,
      retryable: true,
    });
  });
});
