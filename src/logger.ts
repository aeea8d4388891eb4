import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Tokens never reach a log line: known secret-bearing
 * paths are redacted, and phones are masked by `maskPhone` at the call site.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'handover' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['authorization', 'headers.authorization', 'req.headers.authorization', 'token', '*.token', 'secret'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * `573001234567` → `57300*****67`: enough to tell users apart in a log, not
 * enough to call them. A BSUID keeps its country prefix and has its digits
 * masked the same way (`CO.1047385771169864` → `CO.10473*********64`).
 */
export function maskPhone(phone: string | null | undefined): string {
  if (!phone) return '';
  const bsuid = /^([A-Z]{2}\.(?:ENT\.)?)(.+)$/.exec(phone);
  if (bsuid) return `${bsuid[1]}${maskPhone(bsuid[2])}`;
  if (phone.length <= 7) return `${phone.slice(0, 2)}${'*'.repeat(Math.max(0, phone.length - 2))}`;
  return `${phone.slice(0, 5)}${'*'.repeat(phone.length - 7)}${phone.slice(-2)}`;
}

/** Any run of 7 or more digits (a phone, a document number) masked like a phone: for text from outside, such as an error body. */
export function maskDigitRuns(text: string): string {
  return text.replace(/\d{7,}/g, (digits) => maskPhone(digits));
}
