/**
 * What Postgres can store. A text or jsonb value refuses NUL (22021, 22P05)
 * and a UTF-16 surrogate without its pair (jsonb: 22P02), and JSON nested
 * deeper than the call stack cannot even be serialised. Input is checked
 * here where it enters, so no such value reaches the pipeline, where the
 * write would fail on every retry.
 */

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

export const isStorableText = (text: string): boolean => !UNSTORABLE.test(text);

/** Any escape that could be NUL or a surrogate (a superset: it ignores whether the backslash is itself escaped). */
const MAYBE_UNSTORABLE_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;
/** The escapes that matter, with the backslashes before them: an odd run means the last one escapes the `u`. */
const NUL_OR_SURROGATE_ESCAPE = /(\\+)u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g;

/**
 * Whether parsing this JSON text may give a text Postgres cannot store: a
 * `\u0000` escape, or a surrogate escape without its pair. When not, the
 * parsed value needs no `cleanJson` walk. A raw NUL or control character is
 * not JSON at all (the parse fails), and text decoded from UTF-8 never holds
 * a lone surrogate (a broken sequence becomes U+FFFD), so escapes are the
 * only way in. Most deliveries have none, and are answered by one regex; an
 * escaped surrogate pair (an emoji, as Meta escapes it) is scanned.
 */
export function mayParseUnstorable(jsonText: string): boolean {
  if (!MAYBE_UNSTORABLE_ESCAPE.test(jsonText)) return false;
  /** Where the last high surrogate's escape ended, while it waits for its low half. */
  let highEndsAt = -1;
  for (const match of jsonText.matchAll(NUL_OR_SURROGATE_ESCAPE)) {
    const [whole, backslashes, hex] = match as unknown as [string, string, string];
    // `\\u…` is a backslash, then text: only an odd run of backslashes escapes the `u`.
    if (backslashes.length % 2 === 0) continue;
    const escapeAt = match.index! + backslashes.length - 1;
    const unit = Number.parseInt(hex, 16);
    if (unit === 0) return true;
    if (unit >= 0xdc00) {
      if (highEndsAt !== escapeAt) return true;
      highEndsAt = -1;
    } else {
      if (highEndsAt !== -1) return true;
      highEndsAt = match.index! + whole.length;
    }
  }
  return highEndsAt !== -1;
}

/** The text without its NUL characters and unpaired surrogates. */
export const storableText = (text: string): string => text.replace(UNSTORABLE_ALL, '');

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const pathOf = (parent: string, key: string | number) => (parent === '' ? String(key) : `${parent}.${key}`);
const describe = (key: string) => (isStorableText(key) ? key : JSON.stringify(storableText(key)));

/**
 * The first problem in a parsed JSON value, named by its path
 * (`metadata.a.b: ...`): text with NUL or an unpaired surrogate (in a value
 * or a key), a number JSON.parse made infinite (`1e400`), nesting deeper than
 * `maxDepth`. Walked with its own stack: the value may be nested far deeper
 * than a recursive walk could go.
 */
export function unstorableIn(root: unknown, maxDepth: number): string | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    const field = path || 'body';
    if (typeof value === 'string' && !isStorableText(value)) return `${field} must not contain NUL characters or unpaired UTF-16 surrogates`;
    if (typeof value === 'number' && !Number.isFinite(value)) return `${field} must be a finite number`;
    if (!isRecord(value)) continue;
    if (depth >= maxDepth) return `${field} is nested deeper than ${maxDepth} levels`;
    for (const [key, child] of Object.entries(value)) {
      if (!isStorableText(key)) return `${pathOf(path, describe(key))} (a key) must not contain NUL characters or unpaired UTF-16 surrogates`;
      stack.push({ value: child, path: pathOf(path, key), depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * A copy of a parsed JSON value whose texts (values and keys) are storable,
 * with the paths it had to clean. For senders that must not be refused
 * (Meta redelivers a refused webhook for days). Iterative, like `unstorableIn`.
 */
export function cleanJson(root: unknown): { value: unknown; cleaned: string[] } {
  const cleaned: string[] = [];
  const clean = (value: unknown, path: string): unknown => {
    if (typeof value !== 'string' || isStorableText(value)) return value;
    cleaned.push(path || 'body');
    return storableText(value);
  };
  const stack: { source: unknown; target: Record<string, unknown> | unknown[]; path: string }[] = [];
  const enqueue = (source: unknown, path: string) => {
    if (!isRecord(source)) return source;
    const target: Record<string, unknown> | unknown[] = Array.isArray(source) ? [] : {};
    stack.push({ source, target, path });
    return target;
  };
  const value = enqueue(clean(root, ''), '');
  while (stack.length > 0) {
    const { source, target, path } = stack.pop()!;
    for (const [rawKey, child] of Object.entries(source as Record<string, unknown>)) {
      const key = clean(rawKey, pathOf(path, describe(rawKey))) as string;
      const childPath = pathOf(path, key);
      // Defined, not assigned: an assigned `__proto__` key would replace the copy's prototype.
      Object.defineProperty(target, key, { value: enqueue(clean(child, childPath), childPath), enumerable: true, writable: true, configurable: true });
    }
  }
  return { value, cleaned };
}
