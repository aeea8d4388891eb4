import type { TSchema } from '@sinclair/typebox';
import { Elysia } from 'elysia';
import { bearerAuth, type BearerGuard } from '../http/bearer-auth';
import { parseJson, readRawBody, validate } from '../http/body';
import { CrmModel } from './model';
import type { CrmService } from './service';

export interface CrmRouteDeps {
  service: CrmService;
  guard: BearerGuard;
  maxBodyBytes: number;
}

/**
 * The CRM's API (DESIGN 2.1): Bearer CRM_API_TOKEN, the body validated
 * against its model, then the service decides and queues. Bodies are read
 * and validated in the handler (`parse: 'none'`), not by Elysia's `body:`
 * schema: Elysia parses and validates before `beforeHandle`, so a caller
 * without a token would hear 400 about its JSON instead of 401, and a junk
 * flood would never reach the failed-auth budget. The raw bytes also make
 * the idempotency id of a request sent without an Idempotency-Key.
 */
export const crmRoutes = ({ service, guard, maxBodyBytes }: CrmRouteDeps) => {
  const readRequest = async <S extends TSchema>(request: Request, model: S) => {
    const raw = await readRawBody(request, maxBodyBytes);
    return { raw, body: validate(model, parseJson(raw)), idempotencyKey: request.headers.get('idempotency-key') ?? undefined };
  };

  return new Elysia({ prefix: '/api/crm' })
    .use(bearerAuth)
    .guard({ bearer: guard })
    .post(
      '/handover',
      async ({ request }) => {
        const { ticketId } = await service.handover(await readRequest(request, CrmModel.handover));
        return { success: true, message: 'Handover processed successfully', ticketId };
      },
      { parse: 'none' },
    )
    .post(
      '/send-message',
      async ({ request }) => {
        const { ticketId } = await service.sendMessage(await readRequest(request, CrmModel.sendMessage));
        return { success: true, message: 'Message sent successfully', ticketId };
      },
      { parse: 'none' },
    )
    .get('/handover-status/:ticketId', ({ params }) => service.status(validate(CrmModel.ticketParams, params).ticketId));
};
