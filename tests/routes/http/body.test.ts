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

  test('the bytes are returned as received', async () => {
    const body = '{"a":"\\u00f1"}';
    expect(new TextDecoder().decode(await readRawBody(new Request('http://localhost/', { method: 'POST', body }), 100))).toBe(body);
  });

  test('JSON that does not parse is 400 invalid_json', () => {
    expect(refusal(() => parseJson(new TextEncoder().encode('{')))).toMatchObject({ status: 400, code: 'invalid_json' });
  });
});
