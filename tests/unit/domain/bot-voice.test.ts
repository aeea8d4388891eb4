import { expect, test } from 'bun:test';
import { botSilence, OPEN_VOICE, threadOwnerOf } from '../../../src/domain/bot-voice';
import { AMBIENT_MESSAGE_TYPES } from '../../../src/domain/events';

const AT = '2026-12-01T15:00:00.000Z';

test('the bot may speak when this app owns the thread and no person is answering from the Business app', () => {
  expect(botSilence(OPEN_VOICE, AT)).toBeNull();
  expect(botSilence({ threadOwner: null, botPausedUntil: '2026-12-01T14:59:59.000Z' }, AT)).toBeNull();
});

test('it keeps quiet while another responder owns the thread, or until a pause for a person ends', () => {
  expect(botSilence({ threadOwner: 'ai_agent', botPausedUntil: null }, AT)).toBe('thread_not_owned');
  expect(botSilence({ threadOwner: null, botPausedUntil: '2026-12-01T15:30:00.000Z' }, AT)).toBe('person_answering');
});

test('a stored owner it does not know is read as another responder, never as this app', () => {
  expect(threadOwnerOf('crm')).toBe('crm');
  expect(threadOwnerOf('partner_app_v2')).toBe('other');
  expect(threadOwnerOf(null)).toBeNull();
});

test('a pause ends at its time: the bot may speak at that very instant', () => {
  expect(botSilence({ threadOwner: null, botPausedUntil: AT }, AT)).toBeNull();
});

test("every owner this version knows is read back as itself", () => {
  for (const owner of ['crm', 'ai_agent', 'other']) expect(threadOwnerOf(owner)).toBe(owner as never);
  expect(threadOwnerOf('')).toBeNull();
});

test('reactions, revokes, edits, system notices, unsupported, unknown and error messages are not turns of the conversation', () => {
  for (const type of ['reaction', 'revoke', 'edit', 'system', 'unsupported', 'unknown', 'errors']) expect(AMBIENT_MESSAGE_TYPES.has(type)).toBe(true);
  for (const type of ['text', 'interactive', 'button', 'image', 'location', 'contacts']) expect(AMBIENT_MESSAGE_TYPES.has(type)).toBe(false);
});
