import { Elysia } from 'elysia';
import { embeddedPath, pageFile, pageHeaders } from './http/page-files';
import indexHtml from '../dashboard/index.html' with { type: 'file' };
// @ts-expect-error TS7016: a browser script, imported only as a file to serve
import dashboardJs from '../dashboard/dashboard.js' with { type: 'file' };
import dashboardCss from '../dashboard/dashboard.css' with { type: 'file' };
import liveHtml from '../dashboard/live.html' with { type: 'file' };
// @ts-expect-error TS7016: a browser script, imported only as a file to serve
import liveJs from '../dashboard/live.js' with { type: 'file' };
import liveCss from '../dashboard/live.css' with { type: 'file' };
/**
 * Chart.js's browser build, served from the installed package: users need no build step and the page needs no CDN.
 * By path: the package's exports do not list this file.
 */
// @ts-expect-error TS7016: a browser script, imported only as a file to serve
import chartJs from '../../node_modules/chart.js/dist/chart.umd.min.js' with { type: 'file' };

/**
 * The page holds a token that reads every KPI: nothing but its own files may
 * run or be fetched (no inline script or style, so no 'unsafe-inline';
 * Chart.js styles its canvas through the CSSOM, which CSP allows), no site
 * may frame it (clickjacking), and no URL of it leaks in a Referer.
 */
export const DASHBOARD_HEADERS = pageHeaders(
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
);

const file = (path: string, type: string) => pageFile(path, type, DASHBOARD_HEADERS);

/**
 * The supervisors' pages. Static: the KPIs read /api/metrics/kpis, the live
 * view (/dashboard/live) /api/live, with the METRICS_TOKEN the supervisor
 * types in, so the pages themselves hold no data.
 */
export const dashboardRoutes = () =>
  new Elysia()
    .get('/dashboard', file(embeddedPath(indexHtml), 'text/html; charset=utf-8'))
    .get('/dashboard/dashboard.js', file(embeddedPath(dashboardJs), 'text/javascript; charset=utf-8'))
    .get('/dashboard/dashboard.css', file(dashboardCss, 'text/css; charset=utf-8'))
    .get('/dashboard/live', file(embeddedPath(liveHtml), 'text/html; charset=utf-8'))
    .get('/dashboard/live.js', file(embeddedPath(liveJs), 'text/javascript; charset=utf-8'))
    .get('/dashboard/live.css', file(liveCss, 'text/css; charset=utf-8'))
    .get('/dashboard/vendor/chart.umd.min.js', file(embeddedPath(chartJs), 'text/javascript; charset=utf-8'));
