import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { maskDigitRuns } from '../domain/masking';
import { errorSummary } from '../errors';

export { SpanKind, type Span };

/**
 * The spans that follow one message across the webhook, the stream, the
 * machines and the outbox (docs/TRACING.md). Off until boot/tracing.ts
 * hands a tracer over (an OTLP endpoint is set): every helper is then one
 * branch and calls straight through, so the webhook pays nothing for it.
 * The tracer is the process's, like OpenTelemetry's context manager, which
 * is global by its design: one exporter per process, whatever calls it.
 */
let tracer: Tracer | null = null;

const propagator = new W3CTraceContextPropagator();

/** What a helper gets while tracing is off: a span that records nothing, so callers set attributes without asking. */
const SILENT_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** boot/tracing.ts's: the SDK's tracer once it is started, null when it stops. */
export function useTracer(next: Tracer | null): void {
  tracer = next;
}

export const tracingOn = (): boolean => tracer !== null;

export interface SpanStart {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /**
   * The span's parent: the active span when absent; a `traceparent` carried from another step (a stream entry,
   * an outbox row, a caller's header; an invalid one starts a new trace); null for a new trace.
   */
  parent?: string | null;
}

function parentContext(parent: string | null | undefined): Context {
  if (parent === undefined) return context.active();
  if (parent === null) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent: parent }, defaultTextMapGetter);
}

/** A link to the span a `traceparent` names (a batch's to each of its entries); undefined for none or a malformed one. */
export function linkTo(traceparent: string | undefined): Link | undefined {
  const linked = traceparent ? trace.getSpanContext(parentContext(traceparent)) : undefined;
  return linked ? { context: linked } : undefined;
}

/** A span its caller ends: one that outlives a call (a stream entry's, from its read to its batch's commit). */
export function startSpan(name: string, { parent, ...options }: SpanStart = {}): Span {
  return tracer ? tracer.startSpan(name, options, parentContext(parent)) : SILENT_SPAN;
}

/** Marks a span failed with what the logs would say of the error (digit runs masked: no phone reaches a trace). */
export function spanFailed(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: maskDigitRuns(errorSummary(error)).slice(0, 500) });
}

/** Runs `work` with `span` active: what it logs carries the span's trace id, what it calls out is its child. */
export function withSpan<T>(span: Span, work: () => T): T {
  return tracer ? context.with(trace.setSpan(context.active(), span), work) : work();
}

/** Runs `work` in a span of its own, active while it runs; a throw marks it failed. */
export async function inSpan<T>(name: string, start: SpanStart, work: (span: Span) => Promise<T>): Promise<T> {
  if (!tracer) return work(SILENT_SPAN);
  const span = startSpan(name, start);
  try {
    return await withSpan(span, () => work(span));
  } catch (error) {
    spanFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * A span as the next step carries it (a stream entry's field, an outbox row's column, a header); undefined for
 * tracing off. An unsampled span is carried too: its flag keeps the next steps unsampled.
 */
export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier.traceparent;
}

/** The active span, when tracing is on and one is: what an outgoing call is the child of. */
export const activeSpan = (): Span | undefined => (tracer ? trace.getActiveSpan() : undefined);

/**
 * A request served in a span of its own (SERVER), `parent` the caller's `traceparent` when it is one to
 * continue. `work` gets the span to record the answer's status on; a thrown error's status is recorded, and
 * only a server's failure (5xx, or an error with none) marks the span failed: a 4xx is the caller's.
 */
export async function inRequestSpan<T>(route: string, request: Request, parent: string | null, work: (span: Span) => Promise<T>): Promise<T> {
  if (!tracer) return work(SILENT_SPAN);
  const span = startSpan(`${request.method} ${route}`, {
    kind: SpanKind.SERVER,
    parent,
    attributes: { 'http.request.method': request.method, 'http.route': route },
  });
  try {
    return await withSpan(span, () => work(span));
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
    if (typeof status !== 'number' || status >= 500) spanFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}
