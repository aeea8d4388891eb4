import { trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** LOG_FORMAT: `json` for log shippers, `pretty` for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT=auto: readable at a developer's terminal; JSON wherever a machine reads the output (production, a pipe, a file). */
export function logFormatFor(setting: 'auto' | LogFormat, nodeEnv: string, stdoutIsTerminal: boolean): LogFormat {
  if (setting !== 'auto') return setting;
  return nodeEnv === 'development' && stdoutIsTerminal ? 'pretty' : 'json';
}

/** The service's logger as its settings ask: LOG_LEVEL, and LOG_FORMAT read against NODE_ENV and the process's stdout. */
export function loggerFromSettings(settings: { LOG_LEVEL: string; LOG_FORMAT: 'auto' | LogFormat; NODE_ENV: string }): Logger {
  return createLogger(settings.LOG_LEVEL, undefined, logFormatFor(settings.LOG_FORMAT, settings.NODE_ENV, process.stdout.isTTY === true));
}

/**
 * One line per entry for a terminal: time, level, the event's name and the message, the other fields after
 * it. Written synchronously, like pino's own stdout, so the line before an exit is not lost.
 */
function prettyStream(destination: number | pino.DestinationStream = 1) {
  return pretty({
    destination,
    // Colours only for a terminal: in a file or a pipe the escape codes are noise.
    colorize: destination === 1 && process.stdout.isTTY === true,
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service,event,spanId',
    messageFormat: '{if event}{event}: {end}{msg}',
  });
}

/**
 * The trace and span a line is written in, when tracing is on and a span is active (a webhook, a stream entry,
 * an outbox delivery): `traceId` is the one id every line of one message shares, and what its trace is found by.
 */
function traceFields(): { traceId?: string; spanId?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}

/**
 * Structured logs: JSON, or the same entries made readable (`prettyStream`). Tokens never reach a log
 * line: known secret-bearing paths are redacted, and phones and conversation keys are masked at the call
 * site (`domain/masking.ts`).
 */
export function createLogger(level: string, destination?: pino.DestinationStream, format: LogFormat = 'json'): Logger {
  return pino(
    {
      level,
      base: { service: 'handover' },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: traceFields,
      redact: {
        paths: ['authorization', 'headers.authorization', 'req.headers.authorization', 'token', '*.token', 'secret'],
        censor: '[redacted]',
      },
    },
    format === 'pretty' ? prettyStream(destination) : destination,
  );
}
