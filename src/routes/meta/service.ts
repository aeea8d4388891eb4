import { createHash } from 'node:crypto';
import type { Counter } from 'prom-client';
import type { Queries } from '../../db/queries';
import { pipelineEvent, type PipelineEvent } from '../../domain/events';
import { parseWhatsAppWebhook } from '../../integrations/meta-webhooks';
import { parseThreadControlWebhook } from '../../integrations/meta-thread-control';
import type { Logger } from '../../logger';
import { maskKey } from '../../domain/masking';
import { childFor } from '../../observability/metrics';
import type { Producer } from '../../streams/producer';
import { eventIds } from '../../domain/event-ids';
import { businessNumbers, isServed, type BusinessNumbers } from '../../domain/business-numbers';
import type { TemplateUpdate } from '../../domain/events';
import { isUnusable, type TemplateStatuses } from '../../redis/template-status';

export interface MetaServiceDeps {
  queries: Queries;
  producer: Producer;
  logger: Logger;
  webhookEvents: Counter<'type'>;
  /** The CRM's Meta app id: thread control passed to it means "to the CRM". */
  crmAppId: string;
  /** The WhatsApp numbers this service serves: a webhook for another is acknowledged, never answered. */
  numbers?: BusinessNumbers;
  /** The templates the service sends (the re-engagement template): a change Meta announces to one is a warning, and kept. */
  templates?: { used: readonly string[]; statuses: Pick<TemplateStatuses, 'record'> };
}

/** The business number a webhook event names, if any. */
const numberOf = (event: PipelineEvent): string | undefined => ('businessPhoneNumberId' in event.data ? event.data.businessPhoneNumberId : undefined);

export interface Accepted {
  accepted: number;
  ignored: number;
}

/** What Meta's signed deliveries become: stream entries for the worker; unknown shapes are counted and logged, never fatal. */
export function createMetaService(deps: MetaServiceDeps) {
  const { queries, producer, logger } = deps;
  const numbers = deps.numbers ?? businessNumbers('');
  const eventsOf = childFor((type) => deps.webhookEvents.labels({ type }));

  /** Meta must hear 200, so what Postgres could not store was repaired: said where, never what. */
  const logCleaned = (source: string, cleaned: string[]) => {
    if (cleaned.length > 0) logger.warn({ event: `${source}.cleaned`, count: cleaned.length, fields: cleaned.slice(0, 20) }, 'unstorable input repaired');
  };

  /** Events for a number this service does not serve (another service's, or one not configured yet): never answered, counted and said. */
  const notServed = (events: PipelineEvent[], ignored: string[]) => {
    const byNumber = Map.groupBy(events, (event) => numberOf(event) ?? '');
    for (const [businessPhoneNumberId, of] of byNumber) {
      ignored.push(`${of.length} event(s) for number ${businessPhoneNumberId}, not served`);
      eventsOf('unserved_number').inc(of.length);
      logger.info(
        { event: 'webhook.unserved_number', businessPhoneNumberId, count: of.length, served: numbers.served },
        'webhook for a WhatsApp number this service does not serve (not in WHATSAPP_PHONE_NUMBER_IDS): acknowledged, not answered',
      );
    }
  };

  /** Messages said in a WhatsApp group: the bot answers one to one, in private, and must not answer these. */
  const groupMessages = (count: number, ignored: string[]) => {
    ignored.push(`${count} group message(s), not answered in private`);
    eventsOf('group_message').inc(count);
    logger.info({ event: 'webhook.group_message', count }, 'messages in a WhatsApp group: acknowledged, never answered one to one');
  };

  /**
   * A template's status or category changed. One the service sends (the
   * re-engagement template) is a warning: paused or disabled, agents cannot
   * write past the 24-hour window until it is approved again. Kept for
   * /health/ready and /metrics; Redis down: the webhook gets its 503 and
   * Meta redelivers.
   */
  async function templateChanged(update: TemplateUpdate): Promise<void> {
    eventsOf('template_update').inc();
    const used = deps.templates?.used.includes(update.name) ?? false;
    const fields = {
      event: 'template.changed',
      template: update.name,
      language: update.language,
      change: update.event,
      reason: update.reason,
      category: update.category,
      previousCategory: update.previousCategory,
      usedByService: used,
    };
    if (!used) {
      logger.info(fields, 'a template this service does not send changed');
      return;
    }
    await deps.templates!.statuses.record(update, new Date().toISOString());
    logger.warn(
      fields,
      isUnusable(update)
        ? `template ${update.name} is ${update.event.toLowerCase()}: agents' messages past the 24-hour window cannot go out as it until Meta approves it again`
        : `template ${update.name} changed (${update.event}): check its category and cost`,
    );
  }

  return {
    /**
     * The Cloud API's `messages` webhook. No database I/O: it is the hot path,
     * and Meta redelivers what was not acknowledged, so XADD and answer.
     * `storable`: the body's text was checked and holds nothing to clean.
     */
    async acceptMessages(payload: unknown, storable = false): Promise<Accepted> {
      const parsed = parseWhatsAppWebhook(payload, { storable, crmAppId: deps.crmAppId });
      const { ignored, cleaned } = parsed;
      logCleaned('webhook', cleaned);
      const events = parsed.events.filter((event) => isServed(numbers, numberOf(event)));
      if (events.length < parsed.events.length)
        notServed(
          parsed.events.filter((event) => !events.includes(event)),
          ignored,
        );
      if (parsed.groupMessages > 0) groupMessages(parsed.groupMessages, ignored);
      for (const update of parsed.templateUpdates) await templateChanged(update);
      await producer.publish(events);
      for (const event of events) eventsOf(event.type).inc();
      if (ignored.length > 0) {
        eventsOf('ignored').inc(ignored.length);
        logger.info({ event: 'webhook.ignored', reasons: ignored }, 'webhook items ignored');
      }
      return { accepted: events.length, ignored: ignored.length };
    },

    /** Thread control (`messaging_handovers`): each item is routed to its ticket, named in its metadata or found by the user's phone. */
    async acceptThreadControl(payload: unknown, raw: Uint8Array): Promise<Accepted> {
      const { items, ignored, cleaned } = parseThreadControlWebhook(payload, deps.crmAppId);
      logCleaned('meta_handover', cleaned);
      // Meta's redelivery carries the same bytes: the same ids, applied once.
      const deliveryId = createHash('sha256').update(raw).digest('hex');
      const events: PipelineEvent[] = [];
      for (const { control, phone } of items) {
        const ticket = control.ticketId ? await queries.ticket(control.ticketId) : phone ? await queries.openTicketOf(phone) : undefined;
        const key = ticket?.conversationKey ?? phone;
        if (!key) {
          ignored.push(`${control.event}: no known ticket or user`);
          continue;
        }
        events.push(
          pipelineEvent('meta.thread_control', key, eventIds.threadControl(deliveryId, events.length), {
            ...control,
            ticketId: ticket?.id ?? control.ticketId,
          }),
        );
        logger.info(
          { event: 'meta.thread_control', control: control.event, toCrm: control.toCrm, ticketId: ticket?.id, conversationKey: maskKey(key) },
          'thread control event',
        );
      }
      await producer.publish(events);
      if (ignored.length > 0) logger.info({ event: 'meta_handover.ignored', reasons: ignored }, 'handover webhook items ignored');
      return { accepted: events.length, ignored: ignored.length };
    },
  };
}

export type MetaService = ReturnType<typeof createMetaService>;
