import { afterEach, describe, expect, test } from 'bun:test';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { parseOtlpHeaders, samplerOf, startTracing } from '../../../src/boot/tracing';
import { loadConfig } from '../../../src/config';
import { traceIdOf, tracesEndpoint } from '../../../src/domain/trace-context';
import { badRequest, unavailable } from '../../../src/errors';
import { createLogger } from '../../../src/logger';
import { inRequestSpan, inSpan, linkTo, startSpan, traceparentOf, tracingOn, useTracer } from '../../../src/observability/tracing';
import { configProblems } from '../../support/config-problems';

describe('the tracing settings', () => {
  test('tracing is off unless an endpoint is set, and OTEL_SDK_DISABLED turns it off whatever is set', () => {
    expect(tracesEndpoint(loadConfig({}))).toBe('');
    expect(tracesEndpoint(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }))).toBe('');
  });

  test('the base endpoint gets /v1/traces, as the OTLP specification says; the traces endpoint is used as it is, and wins', () => {
    expect(tracesEndpoint(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }))).toBe('http://collector:4318/v1/traces');
    expect(
      tracesEndpoint(
        loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp' }),
      ),
    ).toBe('https://traces.example.com/otlp');
  });

  test('a malformed endpoint, sampler or ratio is refused at boot, one line each; the headers (an API key) are never echoed', () => {
    const problems = configProblems({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '2',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key-without-value',
    });
    expect(problems.map((line) => line.split(':')[0])).toEqual(
      expect.arrayContaining(['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_EXPORTER_OTLP_HEADERS']),
    );
    expect(problems.join('\n')).not.toContain('api-key-without-value');
  });

  test('OTEL_EXPORTER_OTLP_HEADERS is read as the specification writes it: key=value pairs, values URL-encoded', () => {
    expect(parseOtlpHeaders('api-key=abc123,x-tenant=desk%20one')).toEqual({ 'api-key': 'abc123', 'x-tenant': 'desk one' });
    expect(parseOtlpHeaders('')).toEqual({});
  });

  test('each OTEL_TRACES_SAMPLER is the sampler of its name, the ratio from OTEL_TRACES_SAMPLER_ARG', () => {
    expect(samplerOf('parentbased_traceidratio', 0.25).toString()).toContain('root=TraceIdRatioBased{0.25}');
    expect(samplerOf('parentbased_always_on', 1).toString()).toContain('root=AlwaysOnSampler');
    expect(samplerOf('always_off', 1).toString()).toBe('AlwaysOffSampler');
    expect(samplerOf('traceidratio', 0.5).toString()).toBe('TraceIdRatioBased{0.5}');
  });

  test('with no endpoint nothing starts: the helpers call straight through and carry no trace', async () => {
    const tracing = startTracing(loadConfig({}), createLogger('silent'));
    expect(tracingOn()).toBe(false);
    const span = startSpan('anything');
    expect(span.isRecording()).toBe(false);
    expect(traceparentOf(span)).toBeUndefined();
    expect(await inSpan('anything', {}, async (given) => given.isRecording())).toBe(false);
    await tracing.stop();
  });
});

describe('the span helpers, tracing on', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const on = () => useTracer(provider.getTracer('test'));
  afterEach(() => {
    useTracer(null);
    exporter.reset();
  });
  const request = (traceparent?: string) => new Request('http://service/api/crm/send-message', { method: 'POST', headers: traceparent ? { traceparent } : {} });
  const finished = (name: string) => exporter.getFinishedSpans().find((span) => span.name === name)!;

  test("a request the caller got wrong (4xx) is recorded with its status but not as the server's failure; a 5xx or an error without a status is", async () => {
    on();
    for (const [route, error] of [
      ['/a', badRequest('invalid_request', 'no')],
      ['/b', unavailable('queue_unavailable', 'Redis away')],
      ['/c', new Error('boom 573001112233')],
    ] as const) {
      await expect(inRequestSpan(route, request(), null, async () => Promise.reject(error))).rejects.toBe(error);
    }
    expect(
      [finished('POST /a'), finished('POST /b'), finished('POST /c')].map((span) => [span.attributes['http.response.status_code'], span.status.code]),
    ).toEqual([
      [400, 0],
      [503, 2],
      [undefined, 2],
    ]);
    // What the span says of an error is what a log would: digit runs (a phone) masked.
    expect(finished('POST /c').status.message).toBe('boom 57300*****33');
  });

  test("a caller's traceparent is continued; a malformed one starts a trace of its own", async () => {
    on();
    const caller = '00-5b8aa5a2d2c872e8321cf37308d69df2-051581bf3cb55c13-01';
    const continued = await inRequestSpan('/x', request(caller), caller, async (span) => traceparentOf(span)!);
    expect(traceIdOf(continued)).toBe('5b8aa5a2d2c872e8321cf37308d69df2');
    expect(finished('POST /x').parentSpanContext?.spanId).toBe('051581bf3cb55c13');
    const fresh = await inRequestSpan('/y', request('junk'), 'junk', async (span) => traceparentOf(span)!);
    expect(traceIdOf(fresh)).not.toBe('5b8aa5a2d2c872e8321cf37308d69df2');
    expect(finished('POST /y').parentSpanContext).toBeUndefined();
  });

  test('a link is made only to a well-formed trace context', () => {
    on();
    expect(linkTo('00-5b8aa5a2d2c872e8321cf37308d69df2-051581bf3cb55c13-01')?.context).toMatchObject({ traceId: '5b8aa5a2d2c872e8321cf37308d69df2' });
    expect(linkTo('00-nothex-051581bf3cb55c13-01')).toBeUndefined();
    expect(linkTo(undefined)).toBeUndefined();
  });
});

test('a collector that refuses the spans is said in one warning (at most one a minute), and the service carries on', async () => {
  const collector = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('no', { status: 400 }) });
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line)) });
  const tracing = startTracing(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}`, OTEL_BSP_SCHEDULE_DELAY: '10' }), logger);
  try {
    await inSpan('lost', {}, async () => {});
    // The next scheduled export fails; the deadline only bounds a broken run.
    for (const deadline = Date.now() + 5000; lines.length === 0 && Date.now() < deadline;) await Bun.sleep(10);
    await inSpan('lost too', {}, async () => {});
    await Bun.sleep(100);
  } finally {
    await tracing.stop();
    await collector.stop(true);
  }
  expect(lines.map((line) => line.event)).toEqual(['tracing.export_failed']);
  expect(tracingOn()).toBe(false);
});
