import { inRequestSpan, spanFailed, tracingOn } from '../../observability/tracing';
import type { SocketInfo } from '../http/client-address';
import { verifiedBody, type SignedBodyOptions } from '../http/signed-body';
import type { MetaService } from './service';

export interface WebhookDeps {
  service: MetaService;
  signed: SignedBodyOptions;
  /** The app's JSON error body for what the handler threw (the one Elysia's onError gives every other route). */
  errorResponse(error: unknown, request: Request): Response;
}

/** A request in, its response out: what Bun's router and an Elysia route both call. */
export type WebhookHandler = (request: Request, server: SocketInfo | null | undefined) => Promise<Response>;

/**
 * `POST /webhook`, Meta's deliveries: the checks of a signed body
 * (`verifiedBody`: 413, 401, 400), then the service (XADD), then the JSON
 * answer; any error becomes the app's JSON error body here. The one
 * implementation: production serves it from Bun's router, outside Elysia's
 * hook chain (`servedByBun`, wired in app.ts), and the Elysia route
 * (`app.handle`, the docs) delegates to it. The webhook is the service's
 * hottest path: DESIGN 6 holds it to 85 % of a bare Bun.serve doing the HMAC
 * and the XADD, and Elysia's lifecycle (onRequest, onAfterResponse, onError,
 * a macro's resolve) cost more than the gap (docs/bench-ingest.md).
 */
export function webhookHandler(deps: WebhookDeps): WebhookHandler {
  const handle: WebhookHandler = async (request, server) => {
    try {
      const { payload, storable } = await verifiedBody(request, server, deps.signed);
      return Response.json({ success: true, ...(await deps.service.acceptMessages(payload, storable)) });
    } catch (error) {
      return deps.errorResponse(error, request);
    }
  };
  // Each delivery starts a trace (Meta sends no trace context, and no one else may choose ours): the stream
  // entries it appends carry it to the machines and the calls they decide.
  const traced: WebhookHandler = (request, server) =>
    inRequestSpan('/webhook', request, null, async (span) => {
      const response = await handle(request, server);
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) spanFailed(span, `answered ${response.status}`);
      return response;
    });
  return (request, server) => (tracingOn() ? traced(request, server) : handle(request, server));
}

/**
 * The handler as Bun's router serves it: timed here, as Elysia's
 * onAfterResponse times every route it serves (the webhook too, when it is
 * reached through `app.handle`).
 */
export function servedByBun(handler: WebhookHandler, observe: (status: number, seconds: number) => void) {
  return async (request: Request, server: SocketInfo): Promise<Response> => {
    const started = performance.now();
    const response = await handler(request, server);
    observe(response.status, (performance.now() - started) / 1000);
    return response;
  };
}
