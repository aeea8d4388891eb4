import type { StreamEntry } from '../domain/events';
import { linkTo, spanFailed, SpanKind, startSpan, traceparentOf, tracingOn, withSpan, type Span } from '../observability/tracing';

/** The spans of one batch read from a partition: each entry's ends when it is committed, dead-lettered or left to retry. */
export interface BatchSpans {
  /** Runs `work` (the entry applied alone) with the entry's span active: what it logs carries the entry's trace id. */
  within<T>(entry: StreamEntry, work: () => Promise<T>): Promise<T>;
  /** The entry applied alone is settled: committed, or dead-lettered for `error`. */
  settle(entry: StreamEntry, error?: unknown): void;
  /** The batch's transaction failed: its entries are applied one by one next. */
  batchFailed(error: unknown): void;
  /** Ends the batch and every entry not settled: applied, or (`error`) left in the stream to be retried. */
  end(error?: unknown): void;
}

const UNTRACED: BatchSpans = { within: (_entry, work) => work(), settle: () => {}, batchFailed: () => {}, end: () => {} };

/**
 * What the messaging conventions ask of a consumer that applies a batch: a
 * span for the batch, linked to the trace of every entry in it, and one per
 * entry in that entry's own trace (a child of the append that carried it),
 * linked back to the batch. The entry's span is what the machines' decisions
 * carry on: the event's `traceparent` becomes it, so every outbox row the
 * event writes, and every call made for that row, is in the message's trace.
 */
export function traceBatch(stream: string, entries: StreamEntry[]): BatchSpans {
  if (!tracingOn()) return UNTRACED;
  const attributes = { 'messaging.system': 'redis', 'messaging.destination.name': stream, 'messaging.operation.type': 'process' };
  const batch = startSpan('stream process', {
    kind: SpanKind.CONSUMER,
    parent: null,
    links: entries.flatMap(({ event }) => linkTo(event.traceparent) ?? []),
    attributes: { ...attributes, 'messaging.batch.message_count': entries.length },
  });
  const spans = new Map<string, Span>();
  for (const entry of entries) {
    const span = startSpan(`apply ${entry.event.type}`, {
      kind: SpanKind.CONSUMER,
      parent: entry.event.traceparent ?? null,
      links: [{ context: batch.spanContext() }],
      attributes: { ...attributes, 'messaging.message.id': entry.entryId, 'handover.event.type': entry.event.type },
    });
    spans.set(entry.entryId, span);
    entry.event.traceparent = traceparentOf(span);
  }
  const close = (entryId: string, error: unknown) => {
    const span = spans.get(entryId);
    spans.delete(entryId);
    if (!span) return;
    if (error !== undefined) spanFailed(span, error);
    span.end();
  };
  return {
    within: (entry, work) => withSpan(spans.get(entry.entryId) ?? batch, work),
    settle: (entry, error) => close(entry.entryId, error),
    batchFailed: (error) => spanFailed(batch, error),
    end(error) {
      for (const entryId of [...spans.keys()]) close(entryId, error);
      batch.end();
    },
  };
}
