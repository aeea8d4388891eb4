import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Tokens never reach a log line: known secret-bearing
 * paths are redacted, and phones and conversation keys are masked at the call
 * site (`domain/masking.ts`).
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
