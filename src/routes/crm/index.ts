import type { TSchema } from '@sinclair/typebox';
import { Elysia } from 'elysia';
import { inRequestSpan } from '../../observability/tracing';
import { bearerAuth, type BearerGuard } from '../http/bearer-auth';
import { parseJson, readRawBody, validate } from '../http/body';
import { CrmModel } from './model';
import type { CrmAnswer, CrmService } from './service';

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
 *
 * handover, send-message, typing and read answer 200 once their event is
 * applied (DESIGN 2.1), 202 when it is queued but was not applied within
 * CRM_APPLY_TIMEOUT_MS.
 */
export const crmRoutes = ({ service, guard, maxBodyBytes }: CrmRouteDeps) => {
  const readRequest = async <S extends TSchema>(request: Request, model: S) => {
    const raw = await readRawBody(request, maxBodyBytes);
    return { raw, body: validate(model, parseJson(raw)), idempotencyKey: request.headers.get('idempotency-key') ?? undefined };
  };

  /** The seed's answer, plus `applied`; a 202 says the event is accepted, durable, and applied in order later. */
  const answer = ({ ticketId, applied, currentUser }: CrmAnswer, message: string, set: { status?: number | string }) => {
    // A request naming the user's previous phone or BSUID (an identity change, within IDENTITY_CHANGE_GRACE_S) hears the current ones.
    if (applied) return { success: true, applied, message, ticketId, ...currentUser };
    set.status = 202;
    return { success: true, applied, message: 'Accepted, not applied yet: it will be applied in order shortly', ticketId, ...currentUser };
  };

  /**
   * The two requests that reach the machines, each in a span: a CRM that sends `traceparent` has its trace
   * continued (its agent's message is then one trace from its click to WhatsApp).
   */
  const traced = <T>(route: string, request: Request, set: { status?: number | string }, work: () => Promise<T>): Promise<T> =>
    inRequestSpan(route, request, request.headers.get('traceparent'), async (span) => {
      const result = await work();
      span.setAttribute('http.response.status_code', Number(set.status ?? 200));
      return result;
    });

  return new Elysia({ prefix: '/api/crm' })
    .use(bearerAuth)
    .guard({ bearer: guard })
    .post(
      '/handover',
      ({ request, set }) =>
        traced('/api/crm/handover', request, set, async () =>
          answer(await service.handover(await readRequest(request, CrmModel.handover)), 'Handover processed successfully', set),
        ),
      { parse: 'none' },
    )
    .post(
      '/send-message',
      ({ request, set }) =>
        traced('/api/crm/send-message', request, set, async () =>
          answer(await service.sendMessage(await readRequest(request, CrmModel.sendMessage)), 'Message sent successfully', set),
        ),
      { parse: 'none' },
    )
    .post(
      '/typing',
      async ({ request, set }) => answer(await service.typing(await readRequest(request, CrmModel.typing)), 'Typing processed successfully', set),
      {
        parse: 'none',
      },
    )
    .post('/read', async ({ request, set }) => answer(await service.read(await readRequest(request, CrmModel.read)), 'Read processed successfully', set), {
      parse: 'none',
    })
    .get('/handover-status/:ticketId', ({ params }) => service.status(validate(CrmModel.ticketParams, params).ticketId));
};
