import { expect, test } from 'bun:test';
import { Writable } from 'node:stream';
import { createLogger, logFormatFor } from '../../src/logger';

test('LOG_FORMAT=auto is readable at a terminal in development, JSON everywhere else', () => {
  expect(logFormatFor('auto', 'development', true)).toBe('pretty');
  expect(logFormatFor('auto', 'development', false)).toBe('json');
  expect(logFormatFor('auto', 'production', true)).toBe('json');
  expect(logFormatFor('auto', 'test', true)).toBe('json');
  expect(logFormatFor('pretty', 'production', false)).toBe('pretty');
  expect(logFormatFor('json', 'development', true)).toBe('json');
});

test('pretty: one line per entry with the time, the level, the event and the message; secrets still redacted', () => {
  const written: string[] = [];
  const terminal = new Writable({
    write(chunk, _encoding, done) {
      written.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('info', terminal, 'pretty');
  logger.warn({ event: 'config.unset', setting: 'META_WEBHOOK_SECRET' }, 'META_WEBHOOK_SECRET is not set');
  logger.fatal({ event: 'service.start_failed', token: 'do-not-print' }, 'Redis is unreachable at redis://127.0.0.1:1');
  const lines = written.join('').trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  // No colours: the destination is not the terminal.
  expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: config\.unset: META_WEBHOOK_SECRET is not set \{"setting":"META_WEBHOOK_SECRET"\}$/);
  expect(lines[1]).toMatch(
    /^\[\d\d:\d\d:\d\d\.\d{3}\] FATAL: service\.start_failed: Redis is unreachable at redis:\/\/127\.0\.0\.1:1 \{"token":"\[redacted\]"\}$/,
  );
});
