import { Type } from '@sinclair/typebox';
import { describe, expect, test } from 'bun:test';
import { parseJson, readRawBody, validate, validateQuery } from '../../../src/routes/http/body';

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error as { status: number; code: string; message: string };
  }
  throw new Error('expected a refusal');
};

describe('validate', () => {
  const Shape = Type.Union([
    Type.Object({ kind: Type.Literal('a'), name: Type.String({ minLength: 1 }) }),
    Type.Object({ kind: Type.Literal('b'), url: Type.String({ pattern: '^https://', code: 'bad_url', description: 'an https URL' }) }),
  ]);

  test('returns a valid value as it is', () => {
    expect(validate(Shape, { kind: 'a', name: 'x' })).toEqual({ kind: 'a', name: 'x' });
  });

  test('explains a union by the variant its discriminator selects', () => {
    expect(refusal(() => validate(Shape, { kind: 'a' }))).toMatchObject({ status: 400, code: 'invalid_request', message: 'name is required' });
  });

  test('a discriminator that selects nothing lists what it may be', () => {
    expect(refusal(() => validate(Shape, { kind: 'c' })).message).toBe('kind: expected one of a, b');
  });

  test("a field's own code and description make the 400", () => {
    expect(refusal(() => validate(Shape, { kind: 'b', url: 'ftp://x' }))).toMatchObject({ code: 'bad_url', message: 'url must be an https URL' });
  });

  test('every offending field is named', () => {
    const Pair = Type.Object({ from: Type.String(), to: Type.String() });
    expect(refusal(() => validate(Pair, {})).message).toBe('from is required; to is required');
  });

  test('text Postgres cannot store, an infinite number or nesting past 32 levels is refused by its path, whatever the model', () => {
    const Anything = Type.Object({ metadata: Type.Unknown() });
    expect(refusal(() => validate(Anything, { metadata: { notes: ['ok', 'a\u0000'] } }))).toMatchObject({
      status: 400,
      message: 'metadata.notes.1 must not contain NUL characters or unpaired UTF-16 surrogates',
    });
    expect(refusal(() => validate(Anything, { metadata: { n: Infinity } })).message).toBe('metadata.n must be a finite number');
    const deep = JSON.parse(`{"metadata":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(refusal(() => validate(Anything, deep)).message).toContain('is nested deeper than 32 levels');
  });

  test('format instant: a date-time between 2009 and tomorrow', () => {
    const At = Type.Object({ at: Type.String({ format: 'instant', description: 'a real moment' }) });
    expect(validate(At, { at: '2026-11-28T10:00:00Z' })).toEqual({ at: '2026-11-28T10:00:00Z' });
    for (const at of ['0000-01-01T00:00:00Z', '2008-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', 'mañana']) {
      expect(refusal(() => validate(At, { at })).message).toBe('at must be a real moment');
    }
  });

  test('a query is converted to the numbers the model declares before it is checked', () => {
    const Page = Type.Object({ count: Type.Optional(Type.Integer({ minimum: 1 })) });
    expect(validateQuery(Page, { count: '5' })).toEqual({ count: 5 });
    expect(refusal(() => validateQuery(Page, { count: '0' })).message).toContain('count');
  });
});

describe('bodies', () => {
  test('a body over the limit is 413, by its Content-Length or by its bytes', async () => {
    const declared = new Request('http://localhost/', { method: 'POST', body: 'x'.repeat(11), headers: { 'content-length': '11' } });
    await expect(readRawBody(declared, 10)).rejects.toMatchObject({ status: 413, code: 'payload_too_large' });
    const streamed = new Request('http://localhost/', { method: 'POST', body: new Blob(['x'.repeat(11)]).stream() });
    await expect(readRawBody(streamed, 10)).rejects.toMatchObject({ status: 413 });
  });

  test('a chunked body is read only until it passes the limit, then the stream is cancelled', async () => {
    let pulled = 0;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(4));
      },
      cancel() {
        cancelled = true;
      },
    });
    await expect(readRawBody(new Request('http://localhost/', { method: 'POST', body: endless }), 10)).rejects.toMatchObject({ status: 413 });
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThan(10);
  });

  test('the bytes are returned as received', async () => {
    const body = '{"a":"\\u00f1"}';
    expect(new TextDecoder().decode(await readRawBody(new Request('http://localhost/', { method: 'POST', body }), 100))).toBe(body);
  });

  test('JSON that does not parse is 400 invalid_json', () => {
    expect(refusal(() => parseJson(new TextEncoder().encode('{')))).toMatchObject({ status: 400, code: 'invalid_json' });
  });
});
