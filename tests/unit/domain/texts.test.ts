import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TEXTS, loadTexts, renderText } from '../../../src/domain/texts';

const dir = mkdtempSync(join(tmpdir(), 'texts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
};

describe("the bot's texts", () => {
  test('without BOT_TEXTS_FILE, the defaults (a copy: changing it changes no other)', () => {
    const texts = loadTexts('');
    expect(texts).toEqual({ ...DEFAULT_TEXTS });
    expect(texts).not.toBe(DEFAULT_TEXTS);
  });

  test('a file overrides the keys it names and keeps the others', () => {
    const texts = loadTexts(file('ok.json', { emergency: 'Llama al {emergencyPhone}.' }));
    expect(texts.emergency).toBe('Llama al {emergencyPhone}.');
    expect(texts.menuBody).toBe(DEFAULT_TEXTS.menuBody);
  });

  test('an unknown key, an empty text or a text that is not a string is refused, naming it', () => {
    expect(() => loadTexts(file('unknown.json', { saludo: 'hola', despedida: 'chao' }))).toThrow('BOT_TEXTS_FILE: unknown keys saludo, despedida');
    expect(() => loadTexts(file('empty.json', { emergency: '' }))).toThrow('BOT_TEXTS_FILE: emergency must be a non-empty string');
    expect(() => loadTexts(file('number.json', { emergency: 7 }))).toThrow('BOT_TEXTS_FILE: emergency must be a non-empty string');
  });

  test('placeholders are filled from the values given; an unknown one stays as written', () => {
    expect(renderText({ ...DEFAULT_TEXTS, emergency: 'Llama al {emergencyPhone} ({missing}), {n}.' }, 'emergency', { emergencyPhone: '018000', n: 3 })).toBe(
      'Llama al 018000 ({missing}), 3.',
    );
    expect(renderText(DEFAULT_TEXTS, 'resolved')).toBe(DEFAULT_TEXTS.resolved);
  });
});
