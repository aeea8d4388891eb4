import { Elysia } from 'elysia';
import { embeddedPath, pageFile, pageHeaders } from '../http/page-files';
import packageJson from '../../../package.json';
import { openApiDocument } from './document';
import indexHtml from '../../docs/index.html' with { type: 'file' };
// @ts-expect-error TS7016: a browser script, imported only as a file to serve
import docsJs from '../../docs/docs.js' with { type: 'file' };
/** Scalar's single-file browser build, served from the installed package: the page needs no CDN. By path: the package's exports do not list it. */
// @ts-expect-error TS7016: a browser script, imported only as a file to serve
import scalarJs from '../../../node_modules/@scalar/api-reference/dist/browser/standalone.js' with { type: 'file' };

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
    .get('/docs', file(embeddedPath(indexHtml), 'text/html; charset=utf-8'))
    .get('/docs/docs.js', file(embeddedPath(docsJs), 'text/javascript; charset=utf-8'))
    .get('/docs/vendor/scalar.js', file(embeddedPath(scalarJs), 'text/javascript; charset=utf-8'));
};
