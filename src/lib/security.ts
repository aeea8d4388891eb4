import { createHmac, timingSafeEqual } from 'node:crypto';

/** `sha256=<hex HMAC-SHA256(secret, bytes)>`, the format of Meta's X-Hub-Signature-256 and our X-Bot-Signature. */
export function signBody(secret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Checks a `sha256=` signature over the raw bytes as received. Meta escapes
 * non-ASCII as \uXXXX: hashing re-serialised JSON would break every message
 * with an accent or emoji, so the caller must pass the untouched body.
 */
export function verifySignature(secret: string, body: Uint8Array, header: string | null | undefined): boolean {
  if (!secret || !header) return false;
  return constantTimeEqual(signBody(secret, body), header.trim());
}

/** Compares secrets without leaking, through timing, how many leading bytes matched. */
export function constantTimeEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(actual, 'utf8');
  // timingSafeEqual needs equal lengths; compare against itself to spend the same time, then fail.
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** A token check that is false for an unset secret: an empty CRM_API_TOKEN rejects everyone. */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  return expected !== '' && presented !== undefined && constantTimeEqual(expected, presented);
}
