import type { TSchema, Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { badRequest, payloadTooLarge } from '../errors';

/**
 * Reads the body as the exact bytes received, within `limit`. Signatures are
 * computed over these bytes; the Content-Length check rejects an oversized
 * body before reading it, the byte count catches a chunked one.
 */
export async function readRawBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > limit) throw payloadTooLarge(limit);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > limit) throw payloadTooLarge(limit);
  return bytes;
}

export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw badRequest('invalid_json', 'request body is not valid JSON');
  }
}

/** Validates against a TypeBox model and names every offending field in the 400. */
export function validate<S extends TSchema>(schema: S, value: unknown): Static<S> {
  if (Value.Check(schema, value)) return value;
  const problems = [...Value.Errors(schema, value)].map((error) => {
    const field = error.path.replace(/^\//, '').replace(/\//g, '.') || 'body';
    return error.value === undefined ? `${field} is required` : `${field}: ${error.message.toLowerCase()}`;
  });
  throw badRequest('invalid_request', [...new Set(problems)].join('; '));
}
