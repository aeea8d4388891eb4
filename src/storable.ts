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

/**
 * JSON text whose strings parse into NUL or an unpaired surrogate shows it in
 * its escapes: `\u0000`, or a surrogate escape without its pair. A raw NUL or
 * control character is not JSON at all (the parse fails), and text decoded
 * from UTF-8 never holds a lone surrogate (a broken sequence becomes U+FFFD).
 * Errs only one way: an escaped backslash before such an escape also counts.
 */
const UNSTORABLE_ESCAPE =
  /\\u0000|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;

/** Whether parsing this JSON text may give a text Postgres cannot store: when not, the parsed value needs no `cleanJson`. */
export const mayParseUnstorable = (jsonText: string): boolean => UNSTORABLE_ESCAPE.test(jsonText);

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
