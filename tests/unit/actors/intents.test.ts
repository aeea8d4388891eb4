import { describe, expect, test } from 'bun:test';
import { deadlineDue } from '../../../src/actors/deadlines';
import { csatScore, documentNumber, isCancelRequest, menuChoice, normalise } from '../../../src/actors/intents';
import type { InboundMessage } from '../../../src/domain/events';

const said = (text: string, replyId?: string): InboundMessage => ({
  user: { phone: '573001112233' },
  waMessageId: 'wamid.1',
  timestamp: '2026-11-30T15:00:00.000Z',
  type: replyId ? 'interactive' : 'text',
  text,
  ...(replyId ? { replyId } : {}),
});

describe('what the user means', () => {
  test('accents, case and surrounding spaces do not change a word', () => {
    expect(normalise('  Menú ')).toBe('menu');
    expect(normalise('CÉDULA')).toBe('cedula');
    expect(normalise(undefined)).toBe('');
  });

  test('a tapped menu button is its choice, whatever its title says', () => {
    expect(menuChoice(said('Emergencia', 'menu.support'))).toBe('support');
    expect(menuChoice(said('Soporte', 'menu.identify'))).toBe('identify');
    expect(menuChoice(said('Soporte', 'menu.emergency'))).toBe('emergency');
  });

  test('typed, the option number alone or the words choose; a number inside another is not a choice', () => {
    expect(menuChoice(said('1'))).toBe('support');
    expect(menuChoice(said('quiero un asesor'))).toBe('support');
    expect(menuChoice(said('2'))).toBe('identify');
    expect(menuChoice(said('mi cédula'))).toBe('identify');
    expect(menuChoice(said('3'))).toBe('emergency');
    expect(menuChoice(said('es una urgencia'))).toBe('emergency');
    expect(menuChoice(said('12 de marzo'))).toBe('unknown');
    expect(menuChoice(said('21'))).toBe('unknown');
    expect(menuChoice(said('31'))).toBe('unknown');
    expect(menuChoice(said('hola'))).toBe('unknown');
  });

  test('the emergency number is the option 3 at the start, not a 3 ending another number or inside a sentence', () => {
    expect(menuChoice(said('3 por favor'))).toBe('emergency');
    expect(menuChoice(said('13'))).toBe('unknown');
    expect(menuChoice(said('la opción 3 no sirve'))).toBe('unknown');
  });

  test('a document number is digits alone (dots, spaces and dashes allowed), typed as text', () => {
    expect(documentNumber(said('1.020.304.050'))).toBe('1020304050');
    expect(documentNumber(said('10 20-30'))).toBe('102030');
    expect(documentNumber(said('CC1020304050'))).toBeUndefined();
    expect(documentNumber(said('1020304050 CC'))).toBeUndefined();
    expect(documentNumber(said('1234'))).toBeUndefined();
    expect(documentNumber(said('1234567890123456'))).toBeUndefined();
    // A tapped list row titled with digits is not a typed document.
    expect(documentNumber(said('1020304050', 'menu.identify'))).toBeUndefined();
  });

  test('a waiting user cancels with the word alone, punctuation allowed, not inside a sentence', () => {
    for (const word of ['cancelar', 'Cancela', 'Menú', 'salir!', 'menu.']) expect(isCancelRequest(said(word))).toBe(true);
    for (const sentence of ['no quiero cancelar', 'cancelar mi plan', 'salir?']) expect(isCancelRequest(said(sentence))).toBe(false);
  });

  test('a rating is a tapped row or a digit 1-5 typed alone', () => {
    expect(csatScore(said('Excelente', 'csat.5'))).toBe(5);
    expect(csatScore(said(' 3 '))).toBe(3);
    expect(csatScore(said('6'))).toBeUndefined();
    expect(csatScore(said('0'))).toBeUndefined();
    expect(csatScore(said('45'))).toBeUndefined();
    expect(csatScore(said('x', 'menu.support'))).toBeUndefined();
  });
});

describe('a deadline firing', () => {
  const deadlines = { assign: '2026-11-30T15:01:00.000Z' };
  test('is due only as a timer.fired for that timer at the due time armed now', () => {
    expect(deadlineDue(deadlines, { type: 'timer.fired', timer: 'assign', dueAt: deadlines.assign }, 'assign')).toBe(true);
    expect(deadlineDue(deadlines, { type: 'timer.fired', timer: 'assign', dueAt: '2026-11-30T15:00:00.000Z' }, 'assign')).toBe(false);
    expect(deadlineDue(deadlines, { type: 'timer.fired', timer: 'idle', dueAt: deadlines.assign }, 'assign')).toBe(false);
    expect(deadlineDue(deadlines, { type: 'user.message', timer: 'assign', dueAt: deadlines.assign }, 'assign')).toBe(false);
    expect(deadlineDue({}, { type: 'timer.fired', timer: 'assign', dueAt: deadlines.assign }, 'assign')).toBe(false);
  });
});
