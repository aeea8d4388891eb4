/**
 * The headers of a page the service serves (the dashboard, the API reference,
 * the simulator): nothing but the service's own files may run or be fetched,
 * no site may frame it (clickjacking), no URL of it leaks in a Referer, and no
 * file is read as another type than it is served as.
 */
export function pageHeaders(contentSecurityPolicy: string): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
}

/**
 * The path of a file imported `with { type: 'file' }`: on disk when the service runs from source, inside the
 * executable (`/$bunfs/...`) once `bun run build` compiled it, which is how the pages travel in the one binary.
 * TypeScript ignores import attributes and types such an import by its extension (an .html file as an HTML
 * bundle, a .js file as a module): this is where the value is checked to be the path Bun gives.
 */
export function embeddedPath(imported: unknown): string {
  if (typeof imported !== 'string') throw new Error(`expected the path of a file imported with { type: 'file' }, got ${typeof imported}`);
  return imported;
}

/** A handler that serves one file of a page with those headers, never cached stale after a deploy. */
export const pageFile = (path: string, type: string, headers: Record<string, string>) => () =>
  new Response(Bun.file(path), { headers: { 'content-type': type, 'cache-control': 'no-cache', ...headers } });
