import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import type { Config } from '../config';
import { tracesEndpoint } from '../domain/trace-context';
import { errorSummary } from '../errors';
import type { Logger } from '../logger';
import { useTracer } from '../observability/tracing';

export interface Tracing {
  /**
   * Exports what is buffered, then stops: the service's first closer, so it runs last and the spans of the
   * stop itself (the batch in hand, the deliveries finishing) are not lost.
   */
  stop: () => Promise<void>;
}

const OFF: Tracing = { stop: async () => {} };

/** A collector that cannot be reached is said once a minute, not once a batch. */
const EXPORT_ERROR_INTERVAL_MS = 60_000;

/** OTEL_TRACES_SAMPLER and its _ARG, as the OpenTelemetry specification names them. */
export function samplerOf(name: string, ratio: number): Sampler {
  const root = (base: string): Sampler =>
    base === 'always_off' ? new AlwaysOffSampler() : base === 'traceidratio' ? new TraceIdRatioBasedSampler(ratio) : new AlwaysOnSampler();
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root: root(name.slice('parentbased_'.length)) }) : root(name);
}

/** `key=value,key2=value2` (values URL-encoded), as OTEL_EXPORTER_OTLP_HEADERS is written. */
export function parseOtlpHeaders(setting: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of setting.split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) headers[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

/**
 * Starts the OpenTelemetry SDK when an OTLP endpoint is set (otherwise
 * nothing: every span helper then calls straight through): spans are batched and sent over
 * OTLP/HTTP (JSON), and the active span follows each message through its
 * awaits (AsyncLocalStorage), so log lines carry its trace id.
 */
export function startTracing(config: Config, logger: Logger): Tracing {
  const url = tracesEndpoint(config);
  if (url === '') return OFF;
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.OTEL_SERVICE_NAME }),
    sampler: samplerOf(config.OTEL_TRACES_SAMPLER, config.OTEL_TRACES_SAMPLER_ARG),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url, headers: parseOtlpHeaders(config.OTEL_EXPORTER_OTLP_HEADERS) }),
        scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY,
      }),
    ],
  });
  let lastErrorAt = -Infinity;
  setGlobalErrorHandler((error) => {
    if (performance.now() - lastErrorAt < EXPORT_ERROR_INTERVAL_MS) return;
    lastErrorAt = performance.now();
    logger.warn(
      { event: 'tracing.export_failed', endpoint: url.split('?')[0], error: errorSummary(error) },
      'spans could not be exported; the service carries on without them (said at most once a minute)',
    );
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  useTracer(provider.getTracer('handover'));
  logger.info(
    { event: 'tracing.started', endpoint: url.split('?')[0], sampler: config.OTEL_TRACES_SAMPLER, ratio: config.OTEL_TRACES_SAMPLER_ARG },
    `traces exported over OTLP/HTTP to ${url.split('?')[0]}`,
  );
  return {
    stop: async () => {
      useTracer(null);
      await provider.shutdown().catch((error: unknown) => logger.warn({ event: 'tracing.stop_failed', error: errorSummary(error) }, 'last spans not exported'));
      context.disable();
    },
  };
}
