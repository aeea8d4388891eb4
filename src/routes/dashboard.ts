import { dirname, join } from 'node:path';
import { Elysia } from 'elysia';
import { pageFile, pageHeaders } from './http/page-files';

const ASSETS = join(import.meta.dir, '../dashboard');
/** Chart.js's browser build, served from the installed package: users need no build step and the page needs no CDN. */
const CHART_JS = join(dirname(Bun.resolveSync('chart.js', import.meta.dir)), 'chart.umd.min.js');

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
 * The supervisors' page. Static: it reads /api/metrics/kpis with the
 * METRICS_TOKEN the supervisor types in, so the page itself holds no data.
 */
export const dashboardRoutes = () =>
  new Elysia()
    .get('/dashboard', file(join(ASSETS, 'index.html'), 'text/html; charset=utf-8'))
    .get('/dashboard/dashboard.js', file(join(ASSETS, 'dashboard.js'), 'text/javascript; charset=utf-8'))
    .get('/dashboard/dashboard.css', file(join(ASSETS, 'dashboard.css'), 'text/css; charset=utf-8'))
    .get('/dashboard/vendor/chart.umd.min.js', file(CHART_JS, 'text/javascript; charset=utf-8'));
