import type { SocketInfo } from '../http/rate-limit';
import { verifiedBody, type SignedBodyOptions } from '../http/signed-body';
import type { MetaService } from './service';

export interface WebhookFastPathDeps {
  service: MetaService;
  signed: SignedBodyOptions;
  /** The app's JSON error body for what the handler threw (the same as Elysia's onError gives). */
  errorResponse(error: unknown, request: Request): Response;
  /** The request's duration, as the app's onAfterResponse records every other route's. */
  observe(status: number, seconds: number): void;
}

/**
 * `POST /webhook` served by Bun's router directly, outside Elysia's hook
 * chain: the same checks (`verifiedBody`) and the same service as the Elysia
 * route, which stays for `app.handle` (the tests) and for the docs. Meta's
 * deliveries are the service's hottest path: DESIGN 6 holds the webhook to
 * 85 % of a bare Bun.serve doing the HMAC and the XADD, and the lifecycle
 * (the onRequest, onAfterResponse and onError hooks, the macro's resolve)
 * cost more than the gap (docs/bench-e2e.md).
 */
export function webhookFastPath(deps: WebhookFastPathDeps) {
  return async (request: Request, server: SocketInfo): Promise<Response> => {
    const started = performance.now();
    let response: Response;
    try {
      const { payload, storable } = await verifiedBody(request, server, deps.signed);
      response = Response.json({ success: true, ...(await deps.service.acceptMessages(payload, storable)) });
    } catch (error) {
      response = deps.errorResponse(error, request);
    }
    deps.observe(response.status, (performance.now() - started) / 1000);
    return response;
  };
}
