import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import type { PipelineEvent } from '../../../src/domain/events';
import { parseWhatsAppWebhook } from '../../../src/integrations/meta-webhooks';
import { parseThreadControlWebhook } from '../../../src/integrations/meta-thread-control';
import { isStorableText } from '../../../src/domain/storable';

/**
 * Random JSON and random strings, where Meta's fields are and everywhere
 * else: the parsers never throw, and what they emit can always be stored
 * (no text Postgres refuses, every timestamp a real date), so it can never
 * become an entry that fails on every retry.
 */
const RUNS = 200;

/** Any UTF-16 code unit: lone surrogates and NUL included, which `fc.string()` rarely or never produces. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: codeUnit }),
  fc.constantFrom('\u0000', '\ud800', '\udfff', 'a\u0000b', '99999999999999999999', '-1', 'NaN', '1e400', '__proto__', '{"ticket_id":"TK-1\\u0000"}'),
);
const hostileJson = fc.jsonValue({ maxDepth: 4 }).chain((value) => fc.oneof(fc.constant(value), hostileString));
/** Deeper than any recursion over it survives: String() or Number() of it overflows the stack. */
const DEEP = JSON.parse(`${'['.repeat(5_000)}${']'.repeat(5_000)}`) as unknown;
const anyField = fc.oneof(
  { arbitrary: hostileString, weight: 4 },
  { arbitrary: hostileJson, weight: 4 },
  { arbitrary: fc.oneof(fc.double(), fc.integer(), fc.constant(null)), weight: 3 },
  // Rare: each one costs a copy of 5,000 levels.
  { arbitrary: fc.constant(DEEP), weight: 1 },
  { arbitrary: fc.constantFrom('constructor', 'toString'), weight: 1 },
);

/** Meta's shapes with random values in every field, so the fuzz reaches past the envelope checks. */
const message = fc.record(
  {
    from: anyField,
    id: anyField,
    timestamp: anyField,
    type: fc.oneof(fc.constantFrom('text', 'image', 'interactive', 'button', 'location', 'reaction', 'contacts', 'document'), hostileString),
    text: fc.record({ body: anyField }),
    image: fc.record({ id: anyField, caption: anyField, mime_type: anyField }),
    interactive: fc.record({ button_reply: fc.record({ id: anyField, title: anyField }) }),
    location: fc.record({ latitude: anyField, longitude: anyField, name: anyField }),
    contacts: fc.array(fc.record({ name: fc.record({ formatted_name: anyField }) }), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);
const status = fc.record(
  {
    id: anyField,
    status: fc.oneof(fc.constantFrom('sent', 'delivered', 'read', 'failed', '__proto__', 'constructor'), anyField),
    timestamp: anyField,
    recipient_id: anyField,
    errors: anyField,
  },
  { requiredKeys: [] },
);
const threadControl = fc.oneof(
  fc.record({ event: anyField, thread_control: fc.record({ app_id: anyField, metadata: anyField }) }),
  fc.record({
    type: fc.constantFrom('control_passed', 'control_taken'),
    sender: fc.record({ phone_number: anyField }),
    control_taken: fc.record({ metadata: anyField }),
  }),
);
const envelope = (field: fc.Arbitrary<string>, value: fc.Arbitrary<unknown>) =>
  fc.record({
    object: anyField,
    entry: fc.array(fc.record({ id: anyField, changes: fc.array(fc.record({ field, value }), { maxLength: 3 }) }), { maxLength: 2 }),
  });
const messagesValue = fc.record(
  {
    contacts: fc.array(fc.record({ wa_id: anyField, profile: fc.record({ name: anyField }) }), { maxLength: 2 }),
    messages: fc.array(message, { maxLength: 3 }),
    statuses: fc.array(status, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);
const anyPayload = fc.oneof(
  hostileJson,
  envelope(fc.oneof(fc.constant('messages'), hostileString), messagesValue),
  envelope(fc.constant('messaging_handovers'), threadControl),
);

/** Every string in a value, keys included. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => [key, ...strings(child)]);
}

const EARLIEST = Date.UTC(2009, 0, 1);
const TRACKED = ['sent', 'delivered', 'read', 'failed'];
function assertStorable(events: PipelineEvent[]) {
  for (const event of events) {
    if (event.type === 'whatsapp.status') expect(TRACKED).toContain(event.data.status);
    for (const text of strings(event)) expect(isStorableText(text)).toBe(true);
    const timestamp = (event.data as { timestamp?: string }).timestamp;
    if (timestamp !== undefined) expect(Date.parse(timestamp)).toBeGreaterThanOrEqual(EARLIEST);
  }
}

describe('fuzzed Meta webhooks', () => {
  test('the messages webhook never throws and emits only storable events', () => {
    fc.assert(
      fc.property(anyPayload, (payload) => {
        const parsed = parseWhatsAppWebhook(payload);
        assertStorable(parsed.events);
        for (const text of [...parsed.ignored, ...parsed.cleaned]) expect(typeof text).toBe('string');
      }),
      { numRuns: RUNS },
    );
  });

  test('the thread-control webhook never throws and emits only storable controls and phones', () => {
    fc.assert(
      fc.property(anyPayload, hostileString, (payload, crmAppId) => {
        const { items } = parseThreadControlWebhook(payload, crmAppId);
        for (const text of strings(items)) expect(isStorableText(text)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
