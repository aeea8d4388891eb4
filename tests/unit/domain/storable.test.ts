import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { cleanJson, isStorableText, mayParseUnstorable, storableText, unstorableIn } from '../../../src/domain/storable';

const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));

describe('text Postgres can store', () => {
  test('NUL and unpaired surrogates are not; a surrogate pair (an emoji) is', () => {
    expect(['a\u0000b', '\ud800', 'x\udfff', '\udc00\ud800'].map(isStorableText)).toEqual([false, false, false, false]);
    expect(['hola', '😀', 'ñandú', ''].map(isStorableText)).toEqual([true, true, true, true]);
  });

  test('cleaning removes exactly those characters, whatever the text', () => {
    expect(storableText('ho\u0000la \ud800😀\udc00')).toBe('hola 😀');
    fc.assert(
      fc.property(fc.string({ unit: codeUnit }), (text) => {
        const cleaned = storableText(text);
        expect(isStorableText(cleaned)).toBe(true);
        if (isStorableText(text)) expect(cleaned).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});

describe('a parsed body checked where it enters', () => {
  test('names the first field at fault by its path', () => {
    expect(unstorableIn({ message: 'ok', metadata: { a: ['x', 'y\u0000'] } }, 8)).toBe(
      'metadata.a.1 must not contain NUL characters or unpaired UTF-16 surrogates',
    );
    expect(unstorableIn({ metadata: { 'k\u0000': 1 } }, 8)).toBe('metadata."k" (a key) must not contain NUL characters or unpaired UTF-16 surrogates');
    expect(unstorableIn({ n: Infinity }, 8)).toBe('n must be a finite number');
    expect(unstorableIn('\ud800', 8)).toBe('body must not contain NUL characters or unpaired UTF-16 surrogates');
    expect(unstorableIn({ ok: true, list: [1, 'dos', null] }, 8)).toBeUndefined();
  });

  test('nesting past the limit is named, however deep it goes', () => {
    const deep = JSON.parse(`{"metadata":{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`);
    expect(unstorableIn(deep, 32)).toBe(`metadata.a${'.0'.repeat(30)} is nested deeper than 32 levels`);
    expect(unstorableIn({ a: { b: {} } }, 2)).toBe('a.b is nested deeper than 2 levels');
    expect(unstorableIn({ a: { b: 1 } }, 2)).toBeUndefined();
  });
});

describe('a parsed body cleaned for a sender that must not be refused', () => {
  test('texts and keys are cleaned, each place reported, the rest copied as it was', () => {
    const { value, cleaned } = cleanJson({ a: 'x\u0000', list: [1, '\ud800y'], ['k\u0000']: true, n: null });
    expect(value).toEqual({ a: 'x', list: [1, 'y'], k: true, n: null });
    expect(cleaned.sort()).toEqual(['"k"', 'a', 'list.1']);
  });

  test('a body that is itself a text is cleaned, and reported as the body', () => {
    expect(cleanJson('x\u0000')).toEqual({ value: 'x', cleaned: ['body'] });
    expect(cleanJson('hola')).toEqual({ value: 'hola', cleaned: [] });
  });

  test('the copy is as plain as a parsed body: its fields can be changed and removed afterwards', () => {
    const { value } = cleanJson(JSON.parse(String.raw`{"object":"whatsapp_business_account","entry":[{"text":"x\u0000"}]}`));
    const copy = value as Record<string, unknown>;
    copy.object = 'page';
    delete copy.entry;
    expect(copy).toEqual({ object: 'page' });
  });

  test('a __proto__ key stays a plain key of the copy', () => {
    const { value } = cleanJson(JSON.parse('{"__proto__":{"entry":1}}')) as { value: Record<string, unknown> };
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect((value as { entry?: unknown }).entry).toBeUndefined();
    expect(Object.keys(value)).toEqual(['__proto__']);
  });

  test('whatever the JSON, the copy is storable and equal to it when nothing had to be cleaned', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), fc.string({ unit: codeUnit }), (json, text) => {
        for (const input of [json, { text, json }]) {
          const { value, cleaned } = cleanJson(input);
          expect(unstorableIn(value, 64)).toBeUndefined();
          if (cleaned.length === 0) expect(value).toEqual(input);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('whether a JSON text may parse into what Postgres refuses', () => {
  const cases: [string, boolean][] = [
    [String.raw`{"text":"Hola, ¿cómo estás?"}`, false],
    [String.raw`{"text":"\u00bfc\u00f3mo est\u00e1s? \ud83d\udc4b"}`, false],
    [String.raw`{"text":"\uD83D\uDC4B"}`, false],
    // The first low surrogate, U+DC00, completes a pair too (🐀).
    [String.raw`{"text":"\ud83d\udc00"}`, false],
    [String.raw`{"text":"x\udc00"}`, true],
    [String.raw`{"text":"hola\u0000x"}`, true],
    [String.raw`{"a\u0000":1}`, true],
    [String.raw`{"text":"\ud800x"}`, true],
    [String.raw`{"text":"x\udc4b"}`, true],
    [String.raw`{"text":"\ud83d"}`, true],
    // A backslash that is itself escaped makes what follows plain text: "\\uD800" is six characters.
    [String.raw`{"text":"\\uD800\uDC00"}`, true],
    [String.raw`{"text":"\\uD83D"}`, false],
    [String.raw`{"text":"\\\uD83D\uDE00"}`, false],
    [String.raw`{"text":"\\u0000"}`, false],
    [String.raw`{"text":"\uD83D\u00e9"}`, true],
    [String.raw`{"text":"\uD83D\uD83D\uDE00"}`, true],
  ];
  for (const [text, expected] of cases) {
    test(`${text}: ${expected ? 'may' : 'cannot'}`, () => {
      expect(mayParseUnstorable(text)).toBe(expected);
      // Never wrong the unsafe way: whatever it says "cannot", parses into storable texts only.
      if (!expected) expect(cleanJson(JSON.parse(text)).cleaned).toEqual([]);
      else expect(cleanJson(JSON.parse(text)).cleaned.length).toBeGreaterThan(0);
    });
  }
});

test('any text Postgres refuses, serialised as JSON plainly or with every non-ASCII unit escaped (as Meta does), is caught', () => {
  const metaEscaped = (text: string) => JSON.stringify(text).replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
  fc.assert(
    fc.property(fc.array(codeUnit, { maxLength: 12 }), (units) => {
      const text = units.join('');
      if (isStorableText(text)) return;
      expect(mayParseUnstorable(JSON.stringify({ text }))).toBe(true);
      expect(mayParseUnstorable(`{"text":${metaEscaped(text)}}`)).toBe(true);
    }),
    { numRuns: 5000 },
  );
});

test('texts made of backslashes, escape-like letters and surrogates: every one Postgres refuses is caught', () => {
  // Whole escape-shaped words, so that "\\" + "uD83D" (text that looks like an escape) comes up often.
  const piece = fc.constantFrom('\\', 'uD83D', 'ud83d', 'uDE00', 'u0000', 'u00e9', '\ud83d', '\ude00', '\u0000', 'a', 'é');
  const metaEscaped = (text: string) => JSON.stringify(text).replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 16 }), (pieces) => {
      const text = pieces.join('');
      if (isStorableText(text)) return;
      expect(mayParseUnstorable(JSON.stringify({ text }))).toBe(true);
      expect(mayParseUnstorable(`{"text":${metaEscaped(text)}}`)).toBe(true);
    }),
    { numRuns: 5000 },
  );
});
