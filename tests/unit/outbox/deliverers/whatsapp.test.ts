import { describe, expect, test } from 'bun:test';
import type { OutboxRow } from '../../../../src/db/schema';
import { mediaMessage, templateMessage, textMessage, type WhatsAppMessage } from '../../../../src/integrations/whatsapp-messages';
import { agentMessageFailure } from '../../../../src/outbox/deliverers/whatsapp';

const PHONE = '573001112233';

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
    ...values,
  };
}

describe("an agent's send refused for good goes back to its ticket as an event", () => {
  test('131047 is named outside_window, on the user’s partition, with the words as the agent wrote them', () => {
    const event = agentMessageFailure(sendRow(textMessage(PHONE, 'Ya quedó')), { code: 131047, title: 'Re-engagement message' }, 'answered 400');
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
    const event = agentMessageFailure(sendRow(textMessage(PHONE, 'hola')), undefined, 'answered 400 Bad Request');
    expect(event?.data).toMatchObject({ reason: 'refused', error: { title: 'answered 400 Bad Request' } });
  });

  test('a document carries its link and caption, so a template can carry the caption', () => {
    const document = mediaMessage(PHONE, 'document', { url: 'https://cdn.example/f.pdf', caption: 'Factura', filename: 'f.pdf' });
    expect(agentMessageFailure(sendRow(document), { code: 131053 }, 'x')?.data).toMatchObject({
      sentAs: 'free_form',
      message: { type: 'document', body: 'https://cdn.example/f.pdf', media: { url: 'https://cdn.example/f.pdf', caption: 'Factura', filename: 'f.pdf' } },
    });
  });

  test('a template send says so, with the words it carried', () => {
    const template = templateMessage(PHONE, 'seguimiento_agente', 'es', 'Ya quedó');
    expect(agentMessageFailure(sendRow(template), { code: 131026 }, 'x')?.data).toMatchObject({ sentAs: 'template', message: { body: 'Ya quedó' } });
  });

  test("a bot's send, or one that belongs to no ticket, has no one to tell", () => {
    expect(agentMessageFailure(sendRow(textMessage(PHONE, 'menú'), { author: 'bot' }), { code: 131047 }, 'x')).toBeUndefined();
    expect(agentMessageFailure(sendRow(textMessage(PHONE, 'hola'), { ticketId: null }), { code: 131047 }, 'x')).toBeUndefined();
  });
});
