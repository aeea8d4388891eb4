import { Elysia } from 'elysia';
import { AppError, unauthorized } from '../../errors';
import { verifySignature } from '../../lib/security';
import { mayParseUnstorable } from '../../domain/storable';
import { jsonText, parseJson, readRawBody } from './body';
import type { RateLimit } from '../../rate-limits/budgets';
import type { ClientAddress, SocketInfo } from './client-address';
import type { Rejection, RejectionLog } from './rejection-log';

export interface SignedBodyOptions {
  /** META_WEBHOOK_SECRET: the app secret Meta signs every delivery with. */
  secret: string;
  maxBodyBytes: number;
  clientAddress: ClientAddress;
  /** Spent per client address by deliveries whose signature is missing or wrong. */
  unsigned: RateLimit;
  /** Where refused signatures are told, a line per client and interval. */
  rejections: RejectionLog;
}

/** Why a signature was refused: a person reading the log learns which side to fix. */
function signatureProblem(secret: string, header: string | null): Omit<Rejection, 'path'> & { answer: string } {
  if (secret === '') {
    const message = 'META_WEBHOOK_SECRET is not configured on this service: no delivery can be verified';
    return { reason: 'not_configured', message, answer: message };
  }
  const answer = 'X-Hub-Signature-256 is missing or does not match the body';
  if (!header) return { reason: 'missing', message: 'no X-Hub-Signature-256 header', answer };
  return {
    reason: 'mismatch',
    message: 'X-Hub-Signature-256 does not match the body: META_WEBHOOK_SECRET is not the app secret the sender signs with, or the body was changed on the way',
    answer,
  };
}

/**
 * `{ metaSigned: options }` on a route: the raw bytes within MAX_BODY_BYTES
 * (413), X-Hub-Signature-256 checked over them in constant time (401), then
 * JSON (400); the handler gets `raw`, `payload` and `storable` (nothing in it
 * that Postgres refuses: see `mayParseUnstorable`). Meta escapes non-ASCII as
 * \uXXXX, so the hash must cover the bytes as received, never re-serialised
 * JSON. A correctly signed delivery is never refused for rate (Meta sends up
 * to 1,000 messages a second per number from a few addresses, DESIGN 2.1):
 * only failed signatures spend a budget.
 */
/** The checks of a signed delivery, in order: size (413), signature (401), JSON (400); a refusal spends the client's budget. */
export async function verifiedBody(request: Request, server: SocketInfo | null | undefined, options: SignedBodyOptions) {
  const refuse = async (error: AppError): Promise<never> => {
    await options.unsigned.consume(options.clientAddress(request, server));
    throw error;
  };
  // Too large to be checked is as unverified as a bad signature: it spends the same budget.
  const raw = await readRawBody(request, options.maxBodyBytes).catch((error) =>
    error instanceof AppError && error.status === 413 ? refuse(error) : Promise.reject(error),
  );
  const header = request.headers.get('x-hub-signature-256');
  if (!verifySignature(options.secret, raw, header)) {
    const { answer, ...problem } = signatureProblem(options.secret, header);
    options.rejections.record(options.clientAddress(request, server), { ...problem, path: new URL(request.url).pathname });
    await refuse(unauthorized(answer));
  }
  const text = jsonText(raw);
  // Most deliveries hold nothing Postgres refuses: then their parse needs no cleaning walk.
  return { raw, payload: parseJson(text), storable: !mayParseUnstorable(text) };
}

export const signedBody = new Elysia({ name: 'signed-body' }).macro({
  metaSigned: (options: SignedBodyOptions) => ({
    // A parser that answers without reading leaves the stream to `resolve`: Elysia's own JSON parser would consume it.
    parse: () => null,
    resolve: ({ request, server }) => verifiedBody(request, server, options),
  }),
});
