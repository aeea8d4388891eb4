import { FormatRegistry, type TSchema, type Static } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { AppError, badRequest, payloadTooLarge } from '../../errors';
import { unstorableIn } from '../../domain/storable';

/** Far more than any body of ours nests (a handover's `metadata` included), far less than would exhaust the stack when serialised. */
export const MAX_JSON_DEPTH = 32;

const EARLIEST_INSTANT_MS = Date.UTC(2009, 0, 1);
const CLOCK_SKEW_MS = 24 * 3600_000;

/**
 * `format: 'instant'`: a date-time between WhatsApp's launch and tomorrow. A
 * Date holds far more (year 275760), Postgres less; neither is a real time of
 * a message.
 */
FormatRegistry.Set('instant', (value) => {
  const at = Date.parse(value);
  return Number.isFinite(at) && at >= EARLIEST_INSTANT_MS && at <= Date.now() + CLOCK_SKEW_MS;
});

/** A Content-Length over `limit` is refused before a byte of the body is read. */
export function assertDeclaredSize(request: Request, limit: number): void {
  if (Number(request.headers.get('content-length') ?? '0') > limit) throw payloadTooLarge(limit);
}

/**
 * Reads the body as the exact bytes received, within `limit`. Signatures and
 * idempotency ids are computed over these bytes. A chunked body is read only
 * until it passes the limit: Bun's own limit sits far above ours (its 413 has
 * no JSON body), so this is where an oversized body stops.
 */
export async function readRawBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null) {
    if (Number(declared) > limit) throw payloadTooLarge(limit);
    // A declared length frames the body (HTTP reads exactly that many bytes): read it at once, without making
    // `request.body` a stream first. Reading the stream chunk by chunk cost the webhook a fifth of its throughput,
    // and merely touching `request.body` a twentieth (docs/bench-e2e.md).
    return request.bytes();
  }
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw payloadTooLarge(limit);
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks);
}

const utf8 = new TextDecoder();

/** The body's JSON text: what is parsed, and what can be checked before parsing. */
export const jsonText = (bytes: Uint8Array): string => utf8.decode(bytes);

/** Parses whatever the Content-Type says: the CRM and Meta are not held to sending `application/json`. */
export function parseJson(bytes: Uint8Array | string): unknown {
  try {
    return JSON.parse(typeof bytes === 'string' ? bytes : jsonText(bytes));
  } catch {
    throw badRequest('invalid_json', 'request body is not valid JSON');
  }
}

/**
 * Checks that everything in a value can be stored (`unstorableIn`), then the
 * value against its model, and answers 400 naming every offending field. A
 * schema may carry `code` (the error code of the 400, default
 * `invalid_request`) and `description` (what the field must be).
 */
export function validate<S extends TSchema>(schema: S, value: unknown): Static<S> {
  // Before the model: Postgres would refuse such a value on every retry, and a deep one would overflow the checks below.
  const unstorable = unstorableIn(value, MAX_JSON_DEPTH);
  if (unstorable) throw badRequest('invalid_request', unstorable);
  if (Value.Check(schema, value)) return value;
  const problems = explain([...Value.Errors(schema, value)]);
  const code = problems.find((problem) => problem.code)?.code ?? 'invalid_request';
  throw new AppError(400, code, [...new Set(problems.map((problem) => problem.message))].join('; '));
}

/** Query strings carry only text: converts numbers and booleans as the model declares them, then validates. */
export function validateQuery<S extends TSchema>(schema: S, query: Record<string, string | undefined>): Static<S> {
  return validate(schema, Value.Convert(schema, { ...query }));
}

interface Problem {
  message: string;
  code?: string;
}

const fieldOf = (error: ValueError) => error.path.replace(/^\//, '').replace(/\//g, '.') || 'body';

/** The values a discriminator (a literal, or a union of literals) accepts; empty when the schema is not one. */
function literals(schema: TSchema): unknown[] {
  if ('const' in schema) return [schema.const];
  const choices = (schema.anyOf ?? []) as TSchema[];
  return choices.length > 0 && choices.every((choice) => 'const' in choice) ? choices.map((choice) => choice.const) : [];
}

function explain(errors: ValueError[]): Problem[] {
  return errors.flatMap((error): Problem[] => {
    const field = fieldOf(error);
    const accepted = literals(error.schema);
    if (accepted.length > 0 && error.value !== undefined) return [{ message: `${field}: expected one of ${accepted.join(', ')}` }];
    if (error.type === ValueErrorType.Union && error.errors.length > 0) return explainUnion(error.errors.map((variant) => [...variant]));
    if (error.value === undefined) return [{ message: `${field} is required` }];
    const { code, description } = error.schema as { code?: string; description?: string };
    return [{ message: description ? `${field} must be ${description}` : `${field}: ${error.message.toLowerCase()}`, code }];
  });
}

/**
 * A union of objects is explained by the variant its discriminator selects
 * (e.g. `handoverType: bot_to_human` → "agentName is required"); when the
 * discriminator matches no variant, by the values it may take.
 */
function explainUnion(variants: ValueError[][]): Problem[] {
  const isDiscriminator = (error: ValueError) => literals(error.schema).length > 0;
  const selected = variants.find((variant) => !variant.some(isDiscriminator));
  if (selected) return explain(selected);
  const discriminators = variants.map((variant) => variant.find(isDiscriminator)!);
  const field = fieldOf(discriminators[0]!);
  if (discriminators.every((error) => fieldOf(error) === field) && discriminators[0]!.value !== undefined) {
    return [{ message: `${field}: expected one of ${[...new Set(discriminators.flatMap((error) => literals(error.schema)))].join(', ')}` }];
  }
  return explain(variants.reduce((fewest, variant) => (variant.length < fewest.length ? variant : fewest)));
}
