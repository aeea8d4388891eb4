import type { OutboxRow } from '../../db/schema';
import { OUTSIDE_WINDOW_CODE, type SendOutcome, type WhatsAppClient } from '../../integrations/whatsapp';
import { templateMessage, type WhatsAppMessage } from '../../integrations/whatsapp-messages';
import type { Logger } from '../../logger';
import { maskLane } from '../lane';
import type { Deliverer } from '../outcome';
import type { OutboxRepository } from '../repository';

export interface ReengageTemplate {
  name: string;
  languageCode: string;
}

export interface WhatsAppDelivererDeps {
  whatsapp: WhatsAppClient;
  repository: OutboxRepository;
  logger: Logger;
  /** Resolves when the WhatsApp number may send one more message (the send-rate limit, shared by all instances). */
  sendPermit(): Promise<void>;
  /** The template an agent's text goes out as when Graph answers 131047 (outside the 24-hour window). */
  reengageTemplate: ReengageTemplate | null;
}

/** An agent's message re-cut as the re-engagement template: its text (or caption, or link) fills the one body variable. */
export function asReengageTemplate(message: WhatsAppMessage, template: ReengageTemplate): WhatsAppMessage {
  const media = message[message.type] as { caption?: string; link?: string } | undefined;
  const text = message.type === 'text' ? (message.text as { body: string }).body : (media?.caption ?? media?.link ?? '');
  return templateMessage(message.to, template.name, template.languageCode, text);
}

/** Sends one message, each send behind the number's send-rate permit. */
export function createWhatsAppDeliverer(deps: WhatsAppDelivererDeps): Deliverer {
  async function send(message: WhatsAppMessage, row: OutboxRow): Promise<SendOutcome> {
    await deps.sendPermit();
    return deps.whatsapp.send(message, row.idempotencyKey);
  }

  /**
   * The ticket's machine judged the message inside the 24-hour window, but
   * Graph's clock disagrees (131047: only a template gets through). An
   * agent's words go out once more as the re-engagement template, kept in the
   * row so a retry sends the same. The template speaks for an agent, so a bot
   * message is not re-cut.
   */
  async function reengage(row: OutboxRow, message: WhatsAppMessage, refusal: SendOutcome): Promise<SendOutcome | null> {
    if (refusal.ok || refusal.graphError?.code !== OUTSIDE_WINDOW_CODE || !deps.reengageTemplate || message.type === 'template') return null;
    if ((await deps.repository.messageOf(row))?.author !== 'agent') return null;
    const template = asReengageTemplate(message, deps.reengageTemplate);
    await deps.repository.replacePayload(row, template);
    deps.logger.info(
      { event: 'outbox.reengage_template', outboxId: row.id, lane: maskLane(row.lane) },
      'outside the 24-hour window: sending the agent message as the template',
    );
    return send(template, row);
  }

  return {
    async deliver(row) {
      const message = row.payload as WhatsAppMessage;
      const first = await send(message, row);
      const outcome = (await reengage(row, message, first)) ?? first;
      return { outcome, waMessageId: outcome.ok ? outcome.waMessageId : undefined };
    },
    failureFeedback: () => undefined,
  };
}
