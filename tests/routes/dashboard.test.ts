import { expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { dashboardRoutes } from '../../src/routes/dashboard';

const app = new Elysia().use(dashboardRoutes());

test('the page, its script, its style and Chart.js are served from the service, uncached', async () => {
  for (const [path, type] of [
    ['/dashboard', 'text/html'],
    ['/dashboard/dashboard.js', 'text/javascript'],
    ['/dashboard/dashboard.css', 'text/css'],
    ['/dashboard/vendor/chart.umd.min.js', 'text/javascript'],
  ] as const) {
    const response = await app.handle(new Request(`http://localhost${path}`));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toStartWith(type);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect((await response.text()).length).toBeGreaterThan(0);
  }
});

test('every dashboard file forbids inline scripts, framing and referrers', async () => {
  for (const path of ['/dashboard', '/dashboard/dashboard.js', '/dashboard/dashboard.css', '/dashboard/vendor/chart.umd.min.js']) {
    const { headers } = await app.handle(new Request(`http://localhost${path}`));
    const csp = headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(headers.get('x-frame-options')).toBe('DENY');
    expect(headers.get('referrer-policy')).toBe('no-referrer');
    expect(headers.get('x-content-type-options')).toBe('nosniff');
  }
});
