/**
 * The one error class services throw. The root `onError` maps it to the JSON
 * body `{ success: false, error: code, message }` with `status`.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (code: string, message: string) => new AppError(400, code, message);
export const unauthorized = (message = 'missing or invalid credentials') => new AppError(401, 'unauthorized', message);
export const forbidden = (code: string, message: string) => new AppError(403, code, message);
export const notFound = (code: string, message: string) => new AppError(404, code, message);
export const conflict = (code: string, message: string) => new AppError(409, code, message);
export const payloadTooLarge = (limit: number) => new AppError(413, 'payload_too_large', `request body exceeds ${limit} bytes`);
export const tooManyRequests = (retryAfterSeconds: number) => new AppError(429, 'rate_limited', `too many requests; retry in ${retryAfterSeconds}s`, true);
export const unavailable = (code: string, message: string) => new AppError(503, code, message, true);

/**
 * An error as it may be logged or stored: the driver's own message rather
 * than Drizzle's "Failed query: ... params: ..." wrapper, whose parameters
 * carry phone numbers and what users wrote.
 */
export function errorSummary(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const own = error.message.replace(/\nparams: [\s\S]*$/, '');
  if (!(error.cause instanceof Error)) return own;
  return `${error.cause.message} (${own.split('\n')[0]!.slice(0, 300)})`;
}

/** The summary plus where it was thrown: for the dead-letter stream and unhandled errors. */
export function errorDetail(error: unknown): string {
  const frames = error instanceof Error ? (error.stack ?? '').split('\n').filter((line) => line.startsWith('    at ')) : [];
  return [errorSummary(error), ...frames.slice(0, 12)].join('\n');
}

const OUTAGE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
]);

/** A failure of the database's availability (down, restarting, unreachable), not of the request: worth a 503 and a retry. */
export function isDatabaseOutage(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = String((current as { code?: unknown }).code ?? '');
    if (OUTAGE_CODES.has(code) || code.startsWith('08')) return true;
  }
  return false;
}
