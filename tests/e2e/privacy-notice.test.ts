import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, readable, SECRETS, sendUser, sentTo, startStack, text, type TestStack } from '../support/harness';

setDefaultTimeout(30_000);

/**
 * The privacy notice through the whole service (issue 21, item 3): set in
 * BOT_TEXTS_FILE with a PRIVACY_NOTICE_VERSION, it reaches WhatsApp before
 * the greeting, once, and the subscriber's export says which version they
 * were sent and when.
 */
let stack: TestStack;
let dir: string;
const NOTICE = 'Tratamos tus datos según la Ley 1581 de 2012: https://conecta2tel.co/privacidad';
const phone = `5733${String(process.pid % 10000).padStart(4, '0')}0101`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hb-privacy-notice-'));
  await writeFile(join(dir, 'texts.json'), JSON.stringify({ privacyNotice: NOTICE }));
  stack = await startStack('privacy_notice', { BOT_TEXTS_FILE: join(dir, 'texts.json'), PRIVACY_NOTICE_VERSION: '2026-05' });
});
afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a subscriber’s first contact with a privacy notice configured', () => {
  test('gets the notice first, then the menu; a second message gets no notice', async () => {
    await sendUser(stack, phone, text('Hola'));
    await eventually(() => sentTo(stack, phone).length >= 2, 'the notice and the menu');
    await sendUser(stack, phone, text('3'));
    await eventually(() => sentTo(stack, phone).length >= 3, 'the emergency line');

    const said = sentTo(stack, phone).map(readable);
    expect(said[0]).toBe(NOTICE);
    expect(said[1]).toContain('Contactar Soporte');
    expect(said.filter((line) => line === NOTICE)).toHaveLength(1);
  });

  test('their export shows the version they were sent and when', async () => {
    const response = await fetch(`${stack.service.url}/api/admin/subscribers?phone=${phone}`, { headers: { authorization: `Bearer ${SECRETS.adminToken}` } });
    const exported = (await response.json()) as { conversations: { privacyNotice: { version: string; sentAt: string } | null }[] };

    expect(response.status).toBe(200);
    expect(exported.conversations).toHaveLength(1);
    expect(exported.conversations[0]!.privacyNotice).toEqual({ version: '2026-05', sentAt: expect.any(String) });
    expect(Date.parse(exported.conversations[0]!.privacyNotice!.sentAt)).toBeLessThanOrEqual(Date.now());
  });
});
