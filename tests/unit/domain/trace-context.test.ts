import { describe, expect, test } from 'bun:test';
import { isTraceparent, traceIdOf, tracesEndpoint } from '../../../src/domain/trace-context';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('a traceparent', () => {
  test('is the whole W3C header, nothing before or after it, and only a string', () => {
    expect(isTraceparent(TRACEPARENT)).toBe(true);
    expect(isTraceparent(`x${TRACEPARENT}`)).toBe(false);
    expect(isTraceparent(`${TRACEPARENT}x`)).toBe(false);
    expect(isTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331')).toBe(false);
    expect(isTraceparent(42)).toBe(false);
    expect(isTraceparent(undefined)).toBe(false);
  });

  test('gives its trace id; none for a header that is not one, or none at all', () => {
    expect(traceIdOf(TRACEPARENT)).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(traceIdOf('not-a-traceparent')).toBeUndefined();
    expect(traceIdOf(undefined)).toBeUndefined();
  });
});

describe('where spans go', () => {
  const settings = { OTEL_SDK_DISABLED: false, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' };
  test('the traces URL as given, else the base URL with /v1/traces (one slash), else nowhere; disabled, nowhere whatever is set', () => {
    expect(tracesEndpoint({ ...settings, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example/t', OTEL_EXPORTER_OTLP_ENDPOINT: 'https://x' })).toBe('https://otel.example/t');
    expect(tracesEndpoint({ ...settings, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example/' })).toBe('https://otel.example/v1/traces');
    expect(tracesEndpoint({ ...settings, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example/a/b' })).toBe('https://otel.example/a/b/v1/traces');
    expect(tracesEndpoint(settings)).toBe('');
    expect(tracesEndpoint({ ...settings, OTEL_SDK_DISABLED: true, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example/t' })).toBe('');
  });
});
