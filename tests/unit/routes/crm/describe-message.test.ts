import { describe, expect, test } from 'bun:test';
import { describeUserMessage } from '../../../../src/routes/crm/ticket-status';

describe("handover-status's description of the user's last message", () => {
  test('a text, a tapped button: the words themselves', () => {
    expect(describeUserMessage({ type: 'text', body: 'sin internet', media: null })).toBe('sin internet');
    expect(describeUserMessage({ type: 'interactive', body: 'Soporte', media: null })).toBe('Soporte');
  });

  test('anything else: its type, then its caption, file name, place or emoji', () => {
    expect(describeUserMessage({ type: 'image', body: 'las luces', media: { filename: undefined } })).toBe('[image] las luces');
    expect(describeUserMessage({ type: 'document', body: null, media: { filename: 'factura.pdf' } })).toBe('[document] factura.pdf');
    expect(describeUserMessage({ type: 'audio', body: null, media: {} })).toBe('[audio]');
    expect(describeUserMessage({ type: 'reaction', body: '👍', media: null })).toBe('[reaction] 👍');
  });
});
