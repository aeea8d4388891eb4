import { dirname, join } from 'node:path';
import { Elysia } from 'elysia';
import { pageFile, pageHeaders } from '../http/page-files';
import packageJson from '../../../package.json';
import { openApiDocument } from './document';

const ASSETS = join(import.meta.dir, '../../docs');
/** Scalar's single-file browser build, served from the installed package: the page needs no CDN. */
const SCALAR = join(dirname(Bun.resolveSync('@scalar/api-reference', import.meta.dir)), 'browser/standalone.js');

/**
 * The dashboard's policy, but Scalar writes its styles into <style> elements
 * at run time, so styles may be inline; scripts still come only from here.
 */
const DOCS_HEADERS = pageHeaders(
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
);

const file = (path: string, type: string) => pageFile(path, type, DOCS_HEADERS);

/** The API described (OpenAPI 3.1, built once) and its reference page. Public: it holds no data, only the contract. */
export const openApiRoutes = () => {
  const document = JSON.stringify(openApiDocument(packageJson.version));
  return new Elysia()
    .get('/openapi.json', () => new Response(document, { headers: { 'content-type': 'application/json', 'access-control-allow-origin': '*' } }))
    .get('/docs', file(join(ASSETS, 'index.html'), 'text/html; charset=utf-8'))
    .get('/docs/docs.js', file(join(ASSETS, 'docs.js'), 'text/javascript; charset=utf-8'))
    .get('/docs/vendor/scalar.js', file(SCALAR, 'text/javascript; charset=utf-8'));
};
