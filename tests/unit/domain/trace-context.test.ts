import { describe, expect, test } from 'bun:test';
import { isTraceparent, traceIdOf, tracesEndpoint } from '../../../src/domain/trace-context';
import { loadConfig } from '../../../src/config';
import { configProblems } from '../../support/config-problems';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('a traceparent', () => {
  test('is the whole W3C header, nothing before or after it, and only a string', () => {
    expect(isTraceparent(TRACEPARENT)).toBe(true);
    expect(isTraceparent(`x${TRACEPARENT}`)).toBe(false);
    expect(isTraceparent(`${TRACEPARENT}x`)).toBe(false);
    expect(isTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331')).toBe(false);
    expect(isTraceparent(42)).toBe(false);
    expect(isTraceparent([TRACEPARENT])).toBe(false);
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

describe('the tracing settings, as the configuration reads them', () => {

  test('nothing set: no endpoint, the SDK not disabled, every span of a sampled parent kept, the service named handover', () => {
    const config = loadConfig({});
    expect({
      endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
      tracesEndpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
      headers: config.OTEL_EXPORTER_OTLP_HEADERS,
      service: config.OTEL_SERVICE_NAME,
      sampler: config.OTEL_TRACES_SAMPLER,
      ratio: config.OTEL_TRACES_SAMPLER_ARG,
      delay: config.OTEL_BSP_SCHEDULE_DELAY,
      disabled: config.OTEL_SDK_DISABLED,
    }).toEqual({ endpoint: '', tracesEndpoint: '', headers: '', service: 'handover', sampler: 'parentbased_always_on', ratio: 1, delay: 5000, disabled: false });
    expect(tracesEndpoint(config)).toBe('');
  });

  test("every sampler OpenTelemetry names is accepted as written; any other is refused, naming the ones it knows", () => {
    for (const sampler of ['parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio', 'always_on', 'always_off', 'traceidratio']) {
      expect(loadConfig({ OTEL_TRACES_SAMPLER: sampler }).OTEL_TRACES_SAMPLER).toBe(sampler);
    }
    expect(configProblems({ OTEL_TRACES_SAMPLER: 'probability' })).toEqual([
      'OTEL_TRACES_SAMPLER: expected one of parentbased_always_on, parentbased_always_off, parentbased_traceidratio, always_on, always_off, traceidratio (got "probability")',
    ]);
  });

  test('an endpoint is an http or https URL; a host without its scheme is refused', () => {
    const endpoints = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example/v1/traces' };
    expect(loadConfig(endpoints)).toMatchObject(endpoints);
    expect(configProblems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'otel.example/v1/traces' })).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT: malformed value (got "collector:4318")',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: malformed value (got "otel.example/v1/traces")',
    ]);
  });

  test("the exporter's headers are key=value pairs separated by commas; anything else is refused without echoing the secret", () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc123,x-team=soporte' }).OTEL_EXPORTER_OTLP_HEADERS).toBe('x-api-key=abc123,x-team=soporte');
    for (const headers of ['abc123', 'x-api-key=abc123,', '=abc123']) {
      expect(configProblems({ OTEL_EXPORTER_OTLP_HEADERS: headers })).toEqual(['OTEL_EXPORTER_OTLP_HEADERS: malformed value (got "<hidden>")']);
    }
  });

  test('disabling the SDK turns tracing off whatever endpoint is set', () => {
    const config = loadConfig({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example' });
    expect(config.OTEL_SDK_DISABLED).toBe(true);
    expect(tracesEndpoint(config)).toBe('');
    expect(tracesEndpoint(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example' }))).toBe('https://otel.example/v1/traces');
  });
});
