import { expect, test } from 'bun:test';
import fc from 'fast-check';
import { streamKeys } from '../../../src/streams/codec';
import { eventually, metaJson, postWebhook } from '../../support/harness';
import { freshPhone, hostileStack } from './support';

/**
 * The whole pipeline under a bounded run of random signed webhooks (Meta's
 * shapes, random values): every delivery is acknowledged with 200, nothing
 * is dead-lettered, and a legitimate message from the same user is then
 * applied within a second.
 */
const DELIVERIES = 40;
const PHONE = freshPhone();
const hostile = hostileStack('hostile_fuzz');

const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
const hostileString = fc.oneof(fc.string(), fc.string({ unit: codeUnit }), fc.constantFrom('\u0000', '\ud800', '99999999999999999999', '-1', ''));
const anyField = fc.oneof(hostileString, fc.jsonValue({ maxDepth: 3 }), fc.integer());

/** A Cloud API delivery from PHONE (or a mangled PHONE) whose other fields are random. */
const delivery = fc
  .record({
    from: fc.oneof(
      fc.constant(PHONE),
      hostileString.map((suffix) => `${PHONE}${suffix}`),
    ),
    id: fc.oneof(
      anyField,
      fc.uuid().map((uuid) => `wamid.fuzz.${uuid}`),
    ),
    timestamp: anyField,
    type: fc.oneof(fc.constantFrom('text', 'interactive', 'location', 'reaction', 'image'), hostileString),
    body: anyField,
    profile: anyField,
    statusTimestamp: anyField,
  })
  .map(({ from, id, timestamp, type, body, profile, statusTimestamp }) => ({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'WABA_ID',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              contacts: [{ wa_id: from, profile: { name: profile } }],
              messages: [
                {
                  from,
                  id,
                  timestamp,
                  type,
                  text: { body },
                  interactive: { button_reply: { id: body, title: body } },
                  location: { name: body, latitude: body, longitude: 1 },
                  reaction: { emoji: body },
                  image: { id: body, caption: body },
                },
              ],
              statuses: [{ id, status: 'read', timestamp: statusTimestamp, recipient_id: from }],
            },
          },
        ],
      },
    ],
  }));

/** Entries not yet read (lag) or read and not acknowledged (pending), over every partition. */
const unfinished = async () => {
  const keys = streamKeys(hostile.stack.config.REDIS_KEY_PREFIX);
  let total = 0;
  for (let partition = 0; partition < hostile.stack.config.STREAM_PARTITIONS; partition++) {
    const groups = (await hostile.redis.xinfo('GROUPS', keys.partition(partition)).catch(() => [])) as (string | number)[][];
    for (const fields of groups) {
      const info = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, index) => [fields[2 * index], fields[2 * index + 1]]));
      if (info.name === keys.group) total += Number(info.pending) + Number(info.lag ?? 0);
    }
  }
  return total;
};

test(`${DELIVERIES} random signed webhooks: all 200, no dead letter, and the user's next message flows`, async () => {
  const statuses: number[] = [];
  for (const payload of fc.sample(delivery, DELIVERIES)) statuses.push((await postWebhook(hostile.stack, metaJson(payload))).status);
  expect(statuses).toEqual(Array(DELIVERIES).fill(200));

  await hostile.stillFlows(PHONE);
  await eventually(async () => (await unfinished()) === 0, 'every partition drained');
  expect(await hostile.deadLetterCount()).toBe(0);
}, 60_000);
