import { Type } from '@sinclair/typebox';

/**
 * W3C trace context, as this service carries it from step to step (a stream
 * entry's `tp`, an outbox row's `traceparent`, a call's header), and the
 * settings that say where traces go: OpenTelemetry's own names, read with
 * every other setting by config.ts (docs/TRACING.md).
 */

/** `traceparent`: version, trace id, parent span id, flags. */
const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

export const isTraceparent = (value: unknown): value is string => typeof value === 'string' && TRACEPARENT.test(value);

/** The trace id of a `traceparent`: the id a person searches the logs of one message by. */
export const traceIdOf = (traceparent: string | undefined): string | undefined => (traceparent ? TRACEPARENT.exec(traceparent)?.[1] : undefined);

const SAMPLERS = ['parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio', 'always_on', 'always_off', 'traceidratio'];
const Url = () => Type.String({ default: '', pattern: '^(https?://.+)?$' });

/** Off unless an OTLP/HTTP endpoint is set: the base URL (`/v1/traces` is added), or the traces URL itself. */
export const TRACING_SETTINGS = {
  OTEL_EXPORTER_OTLP_ENDPOINT: Url(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Url(),
  /** `key=value,...`, values URL-encoded: a hosted collector's API key. A secret: never echoed. */
  OTEL_EXPORTER_OTLP_HEADERS: Type.String({ default: '', pattern: '^([^=,]+=[^,]*(,[^=,]+=[^,]*)*)?$' }),
  OTEL_SERVICE_NAME: Type.String({ default: 'handover', minLength: 1 }),
  OTEL_TRACES_SAMPLER: Type.Union(
    SAMPLERS.map((name) => Type.Literal(name)),
    { default: 'parentbased_always_on' },
  ),
  /** The ratio of the `traceidratio` samplers: 0.1 keeps one trace in ten. */
  OTEL_TRACES_SAMPLER_ARG: Type.Number({ minimum: 0, maximum: 1, default: 1 }),
  /** Milliseconds between two exports of the spans ended meanwhile (a batch goes sooner once 512 are waiting). */
  OTEL_BSP_SCHEDULE_DELAY: Type.Integer({ minimum: 1, maximum: 600_000, default: 5000 }),
  /** true: no traces whatever the endpoint says. */
  OTEL_SDK_DISABLED: Type.Boolean({ default: false }),
};

interface EndpointSettings {
  OTEL_SDK_DISABLED: boolean;
  OTEL_EXPORTER_OTLP_ENDPOINT: string;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: string;
}

/** Where spans go (OTLP over HTTP): the traces URL, else the base URL's `/v1/traces`; empty when tracing is off. */
export function tracesEndpoint(settings: EndpointSettings): string {
  if (settings.OTEL_SDK_DISABLED) return '';
  if (settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  return settings.OTEL_EXPORTER_OTLP_ENDPOINT ? `${settings.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` : '';
}
