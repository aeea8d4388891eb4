import { Elysia } from 'elysia';
import { forbidden, unauthorized } from '../errors';
import { parseWhatsAppWebhook } from '../integrations/meta-webhooks';
import type { Counter } from 'prom-client';
import type { Logger } from '../logger';
import { tokenMatches, verifySignature } from '../security';
import type { Producer } from '../streams/producer';
import { parseJson, readRawBody } from './http';

export interface WebhookDeps {
  verifyToken: string;
  appSecret: string;
  maxBodyBytes: number;
  producer: Producer;
  logger: Logger;
  webhookEvents: Counter<'type'>;
}

/**
 * Meta's webhook: the verification handshake and the signed event POST.
 * The POST does no database I/O: verify, XADD, 200. The worker does the rest.
 */
export const webhookRoutes = (deps: WebhookDeps) =>
  new Elysia()
    .get('/webhook', ({ query, set }) => {
      if (query['hub.mode'] === 'subscribe' && tokenMatches(deps.verifyToken, query['hub.verify_token'])) {
        set.headers['content-type'] = 'text/plain; charset=utf-8';
        return String(query['hub.challenge'] ?? '');
      }
      throw forbidden('verification_failed', 'hub.mode must be subscribe and hub.verify_token must match WEBHOOK_VERIFY_TOKEN');
    })
    .post(
      '/webhook',
      async ({ request }) => {
        const raw = await readRawBody(request, deps.maxBodyBytes);
        if (!verifySignature(deps.appSecret, raw, request.headers.get('x-hub-signature-256'))) {
          throw unauthorized('X-Hub-Signature-256 is missing or does not match the body');
        }
        const { events, ignored } = parseWhatsAppWebhook(parseJson(raw));
        await deps.producer.publish(events);
        for (const event of events) deps.webhookEvents.inc({ type: event.type });
        if (ignored.length > 0) deps.webhookEvents.inc({ type: 'ignored' }, ignored.length);
        if (ignored.length > 0) deps.logger.info({ event: 'webhook.ignored', reasons: ignored }, 'webhook items ignored');
        return { success: true, accepted: events.length, ignored: ignored.length };
      },
      { parse: 'none' },
    );
