import { maskDigitRuns } from '../domain/masking';
import { activeSpan, inSpan, SpanKind, spanFailed, traceparentOf } from '../observability/tracing';

/**
 * The outcome of one outbound HTTP call, classified for the outbox: a
 * retryable failure is tried again later, a permanent one is recorded.
 */
export type CallOutcome =
  | { ok: true; status: number; body: unknown }
  | {
      ok: false;
      retryable: boolean;
      status?: number;
      error: string;
      body?: unknown;
      /** The request may have been acted on (a timeout, a connection dropped mid-call): a blind resend could repeat it. */
      unknownOutcome?: boolean;
    };

export type CallFailure = Extract<CallOutcome, { ok: false }>;

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** What the call is, for its span (`CRM user-message`, `Graph messages`). */
  operation: string;
  /** Masks what an error body may echo of the request beyond phones (a document number): before the text is logged or stored. */
  maskEcho?: (text: string) => string;
}

/** 408, 425, 429 and 5xx are worth another try; other 4xx mean the request itself is wrong. */
export const isRetryableStatus = (status: number) => status === 408 || status === 425 || status === 429 || status >= 500;

/**
 * One call, in a client span when it is made for a traced step (an outbox
 * delivery): the span's `traceparent` goes with the request, so a CRM that
 * traces continues the message's trace.
 */
export async function call(request: HttpRequest): Promise<CallOutcome> {
  if (!activeSpan()) return send(request);
  const url = new URL(request.url);
  const attributes = { 'http.request.method': request.method, 'server.address': url.hostname, 'url.full': redact(request.url) };
  return inSpan(`${request.method} ${request.operation}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const outcome = await send({ ...request, headers: { ...request.headers, traceparent: traceparentOf(span)! } });
    if (outcome.status !== undefined) span.setAttribute('http.response.status_code', outcome.status);
    if (!outcome.ok) spanFailed(span, outcome.error);
    return outcome;
  });
}

async function send(request: HttpRequest): Promise<CallOutcome> {
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(request.timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    const name = (error as Error).name;
    const reason = name === 'TimeoutError' ? `timed out after ${request.timeoutMs} ms` : (error as Error).message;
    // Refused means nothing was sent; anything else may have reached the server.
    const refused = (error as { code?: string }).code === 'ECONNREFUSED';
    return { ok: false, retryable: true, unknownOutcome: !refused, error: `${request.method} ${redact(request.url)}: ${reason}` };
  }
  const text = await response.text().catch(() => '');
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: keep the text for the error message.
  }
  if (response.ok) return { ok: true, status: response.status, body };
  return {
    ok: false,
    retryable: isRetryableStatus(response.status),
    status: response.status,
    // The remote body may echo what we sent (a phone, the user's words): digits masked, kept short.
    error: `${request.method} ${redact(request.url)} answered ${response.status}: ${maskDigitRuns((request.maskEcho ?? String)(text.slice(0, 400))).slice(0, 200)}`,
    body,
  };
}

/** Query strings can carry a document number: keep them out of errors and logs. */
function redact(url: string): string {
  return url.split('?')[0]!;
}
