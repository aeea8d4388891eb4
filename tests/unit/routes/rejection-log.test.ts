import { expect, test } from 'bun:test';
import { createLogger } from '../../../src/logger';
import { createRejectionLog } from '../../../src/routes/http/rejection-log';

/** A rejection log whose intervals end when the test says, and the lines it wrote. */
function rejectionLog(options: { maxClients?: number } = {}) {
  const lines: Record<string, any>[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  let due: (() => void)[] = [];
  const log = createRejectionLog(logger, { event: 'webhook.signature_rejected', intervalMs: 60_000, schedule: (close) => due.push(close), ...options });
  const endInterval = () => {
    const closing = due;
    due = [];
    for (const close of closing) close();
  };
  return { log, lines, endInterval };
}

const mismatch = { reason: 'mismatch', path: '/webhook', message: 'X-Hub-Signature-256 does not match the body' };

test("a client's first rejection is logged at once, with what was wrong and where", () => {
  const { log, lines } = rejectionLog();
  log.record('203.0.113.7', mismatch);
  expect(lines).toMatchObject([{ level: 40, event: 'webhook.signature_rejected', client: '203.0.113.7', reason: 'mismatch', path: '/webhook', count: 1 }]);
  expect(lines[0]!.msg).toBe('rejected from 203.0.113.7: X-Hub-Signature-256 does not match the body');
});

test('the rest of the interval is one line with their count, the latest reason, when it ends', () => {
  const { log, lines, endInterval } = rejectionLog();
  for (let i = 0; i < 500; i++) log.record('203.0.113.7', mismatch);
  log.record('203.0.113.7', { ...mismatch, reason: 'missing', message: 'no X-Hub-Signature-256 header' });
  expect(lines).toHaveLength(1);
  endInterval();
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatchObject({ client: '203.0.113.7', reason: 'missing', count: 500 });
  expect(lines[1]!.msg).toBe('500 more rejected from 203.0.113.7 in the last 60 s; the latest: no X-Hub-Signature-256 header');
});

test('an interval without more rejections ends without a line, and the next rejection is logged at once again', () => {
  const { log, lines, endInterval } = rejectionLog();
  log.record('203.0.113.7', mismatch);
  endInterval();
  expect(lines).toHaveLength(1);
  log.record('203.0.113.7', mismatch);
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatchObject({ count: 1 });
});

test('a flood that goes on is one line per interval', () => {
  const { log, lines, endInterval } = rejectionLog();
  for (let interval = 0; interval < 3; interval++) {
    for (let i = 0; i < 10; i++) log.record('203.0.113.7', mismatch);
    endInterval();
  }
  expect(lines.map((line) => line.count)).toEqual([1, 9, 10, 10]);
});

test('each client has its own line; past the clients followed, the others share one count', () => {
  const { log, lines, endInterval } = rejectionLog({ maxClients: 2 });
  for (const client of ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.1']) log.record(client, mismatch);
  expect(lines.map((line) => line.client)).toEqual(['198.51.100.1', '198.51.100.2', 'other clients']);
  endInterval();
  expect(lines.slice(3).map((line) => [line.client, line.count])).toEqual([
    ['198.51.100.1', 1],
    ['other clients', 1],
  ]);
});
