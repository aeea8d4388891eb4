import { Elysia } from 'elysia';
import { forbidden } from '../../errors';
import { tokenMatches } from '../../lib/security';
import { validateQuery } from '../http/body';
import type { RejectionLog } from '../http/rejection-log';
import { signedBody, type SignedBodyOptions } from '../http/signed-body';
import { MetaModel } from './model';
import type { MetaService } from './service';
import type { WebhookHandler } from './webhook';

export interface MetaRouteDeps {
  service: MetaService;
  /** WEBHOOK_VERIFY_TOKEN: what Meta echoes in the handshake when the webhook is registered. */
  verifyToken: string;
  signed: SignedBodyOptions;
  /** POST /webhook: the handler Bun's router serves in production (webhook.ts); this route delegates to it. */
  webhook: WebhookHandler;
  /** Where failed handshakes are told (a wrong verify token in Meta's dashboard shows up here), a line per client and interval. */
  verifications: RejectionLog;
}

/** Why a handshake failed, for the log (`message`) and the 403 (`answer`, which names no value). */
function handshakeProblem(verifyToken: string, mode: string | undefined) {
  if (verifyToken === '') {
    const message = 'WEBHOOK_VERIFY_TOKEN is not configured on this service: the verification cannot succeed';
    return { reason: 'not_configured', message, answer: message };
  }
  const answer = 'hub.mode must be subscribe and hub.verify_token must match WEBHOOK_VERIFY_TOKEN';
  if (mode !== 'subscribe') return { reason: 'mode', message: 'hub.mode is not "subscribe"', answer };
  return { reason: 'mismatch', message: 'hub.verify_token is not WEBHOOK_VERIFY_TOKEN: the verify token typed in the app dashboard must be the same', answer };
}

/**
 * Everything Meta calls: the verification handshake, the Cloud API's events
 * and thread control. The last one keeps the path the CRM registered with
 * Meta (`/api/crm/...`) although Meta, not the CRM, signs it.
 */
export const metaRoutes = ({ service, verifyToken, signed, webhook, verifications }: MetaRouteDeps) =>
  new Elysia()
    .use(signedBody)
    .get('/webhook', async ({ query, set, request, server }) => {
      const handshake = validateQuery(MetaModel.verification, query);
      if (handshake['hub.mode'] === 'subscribe' && tokenMatches(verifyToken, handshake['hub.verify_token'])) {
        set.headers['content-type'] = 'text/plain; charset=utf-8';
        return handshake['hub.challenge'] ?? '';
      }
      const client = signed.clientAddress(request, server);
      const { answer, ...problem } = handshakeProblem(verifyToken, handshake['hub.mode']);
      verifications.record(client, { ...problem, path: '/webhook' });
      // Guessing the verify token spends the same budget as guessing a signature.
      await signed.unsigned.consume(client);
      throw forbidden('verification_failed', answer);
    })
    // The body is the handler's to read (its signature covers the raw bytes): Elysia must not parse it.
    .post('/webhook', ({ request, server }) => webhook(request, server), { parse: 'none' })
    .post('/api/crm/meta-handover-webhook', async ({ payload, raw }) => ({ success: true, ...(await service.acceptThreadControl(payload, raw)) }), {
      metaSigned: signed,
    });
