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
 * The CRM's API (DESIGN 2.1): Bearer CRM_API_TOKEN checked before the body
 * is read (`parse: 'none'`), the body validated against its model, then the
 * service decides and queues.
 */
export const crmRoutes = ({ service, guard, maxBodyBytes }: CrmRouteDeps) => {
  const readRequest = async <S extends typeof CrmModel.handover | typeof CrmModel.sendMessage>(request: Request, model: S) => {
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
    .get('/handover-status/:ticketId', ({ params }) => service.status(params.ticketId));
};
