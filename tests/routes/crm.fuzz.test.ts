import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { isStorableText } from '../../src/domain/storable';
import { ADMIN_TOKEN, bearer, jsonRequest, METRICS_TOKEN, routeContext, SECRETS, type RouteContext, type TestApp } from './support';

/**
 * The CRM's models and the operators' queries under random JSON and random
 * strings: never a 5xx, and whatever is accepted can be stored, so it can
 * never become a stream entry that fails on every retry.
 */
const RUNS = 60;

let context: RouteContext;
let app: TestApp;
beforeAll(async () => {
  context = await routeContext('crm_fuzz');
  app = context.app();
});
afterAll(() => context.close());

const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: codeUnit }),
  fc.constantFrom('\u0000', '\ud800', 'a\u0000b', '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '99999999999999999999-0', 'https://x/\u0000'),
);
const hostileJson = fc.jsonValue({ maxDepth: 4 });
/** What an HTTP header can carry: an Idempotency-Key is visible ASCII. */
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 40 });
/** Absent half the time, so that whole requests get through often enough for their queued events to be checked. */
const anyField = fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: hostileString, weight: 2 }, { arbitrary: hostileJson, weight: 1 });

/** Every string in a value, keys included. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => [key, ...strings(child)]);
}

const send = async (path: string, body: string | object, headers: Record<string, string> = {}) =>
  (await app.handle(jsonRequest('POST', path, typeof body === 'string' ? body : JSON.stringify(body), { ...bearer(SECRETS.crmToken), ...headers }))).status;

describe('fuzzed CRM requests', () => {
  test('random JSON or random text as a body is never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/crm/handover', '/api/crm/send-message'),
        fc.oneof(
          hostileJson.map((json) => JSON.stringify(json) ?? 'null'),
          hostileString,
        ),
        async (path, body) => {
          expect(await send(path, body)).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("random values in the models' fields, for a real ticket, are never a 5xx, and what is queued is storable", async () => {
    const ticket = await context.insertTicket();
    let accepted = 0;
    const handover = fc.record({
      ticketId: fc.constant(ticket.id),
      userPhone: fc.constant(ticket.userPhone),
      handoverType: fc.oneof(fc.constantFrom('bot_to_human', 'human_to_bot'), hostileString),
      agentId: anyField,
      agentName: anyField,
      metadata: fc.oneof(fc.dictionary(hostileString, hostileJson, { maxKeys: 3 }), anyField),
    });
    const message = fc.record({
      ticketId: fc.constant(ticket.id),
      userPhone: fc.constant(ticket.userPhone),
      agentId: anyField,
      message: anyField,
      messageType: fc.oneof(fc.constantFrom('text', 'image', 'document'), hostileString),
      caption: anyField,
      filename: anyField,
      timestamp: anyField,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          handover.map((body) => ['/api/crm/handover', body] as const),
          message.map((body) => ['/api/crm/send-message', body] as const),
        ),
        headerValue,
        async ([path, body], key) => {
          const status = await send(path, body, key.trim() === '' ? {} : { 'idempotency-key': key });
          // Accepted is 202 here: no worker applies what is queued.
          expect([202, 400, 409]).toContain(status);
          accepted += status === 202 ? 1 : 0;
        },
      ),
      { numRuns: RUNS * 3 },
    );
    const entries = await app.entries();
    // The property is about what gets through: the generators must let some through.
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.length).toBeLessThanOrEqual(accepted);
    for (const entry of entries) for (const text of strings(entry)) expect(isStorableText(text)).toBe(true);
  });

  test('a random ticket id in the path is 400 or 404', async () => {
    await fc.assert(
      fc.asyncProperty(hostileString, async (id) => {
        const response = await app.handle(
          jsonRequest('GET', `/api/crm/handover-status/${encodeURIComponent(id.toWellFormed())}`, undefined, bearer(SECRETS.crmToken)),
        );
        expect([400, 404]).toContain(response.status);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("fuzzed operators' queries", () => {
  test('random dead-letter cursors and KPI dates are never a 5xx', async () => {
    const query = (values: Record<string, string>) => new URLSearchParams(Object.entries(values).map(([key, value]) => [key, value.toWellFormed()])).toString();
    await fc.assert(
      fc.asyncProperty(hostileString, hostileString, fc.constantFrom('day', 'agent', 'category'), async (after, date, groupBy) => {
        const deadLetters = await app.handle(jsonRequest('GET', `/api/admin/dead-letters?${query({ after })}`, undefined, bearer(ADMIN_TOKEN)));
        expect([200, 400]).toContain(deadLetters.status);
        const kpis = await app.handle(
          jsonRequest('GET', `/api/metrics/kpis?${query({ from: date, to: '2026-11-02', groupBy })}`, undefined, bearer(METRICS_TOKEN)),
        );
        expect([200, 400]).toContain(kpis.status);
      }),
      { numRuns: RUNS },
    );
  });
});
