import { afterAll, beforeAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import { launchChromium } from '../support/chromium';

/**
 * `bun run demo` as a newcomer runs it: from the repository, with nothing
 * configured but a free port (REDIS_URL unset: a private redis-server). It must serve
 * the simulator and the API reference, and the reference must render with
 * nothing fetched from outside this machine.
 */
const ROOT = join(import.meta.dir, '../..');
let demo: ReturnType<typeof Bun.spawn<'ignore', 'pipe', 'pipe'>>;
let base = '';
/** What `bun run demo` printed up to its ready line (and the line after it). */
let banner = '';

beforeAll(async () => {
  demo = Bun.spawn(['bun', 'run', 'demo'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0' },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const decoder = new TextDecoder();
  let output = '';
  for await (const chunk of demo.stdout) {
    output += decoder.decode(chunk);
    const url = /demo ready: (http:\/\/localhost:\d+)\/simulator.*\n.*\n/.exec(output)?.[1];
    if (url) {
      banner = output;
      base = url;
      break;
    }
  }
  if (!base) throw new Error(`bun run demo exited (${await demo.exited}) without serving: ${output}${await new Response(demo.stderr).text()}`);
}, 60_000);

afterAll(async () => {
  demo?.kill('SIGTERM');
  await demo?.exited;
});

test('says it listens on loopback only, and how to open it to the network', () => {
  expect(banner).toContain('listening on 127.0.0.1 only');
  expect(banner).toContain('DEMO_HOST=0.0.0.0');
});

test('serves the simulator, the OpenAPI document and its reference page', async () => {
  const simulator = await fetch(`${base}/simulator`);
  expect(simulator.status).toBe(200);
  expect(await simulator.text()).toContain("The agent's console");
  const document = await fetch(`${base}/openapi.json`);
  expect(((await document.json()) as { openapi: string }).openapi).toBe('3.1.0');
  const docs = await fetch(`${base}/docs`);
  expect(docs.status).toBe(200);
  expect(await docs.text()).toContain('/docs/vendor/scalar.js');
});

test('the reference page renders every route offline: nothing is fetched from another host, nothing is blocked', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => message.text().includes('Content Security Policy') && problems.push(message.text()));
    page.on('request', (request) => new URL(request.url()).hostname !== 'localhost' && problems.push(`fetched ${request.url()}`));
    await page.goto(`${base}/docs`);
    await page.getByText('/api/crm/send-message').first().waitFor({ timeout: 20_000 });
    await page.getByText('Calls to the CRM').first().waitFor();
    await page.screenshot({ path: join(ROOT, 'artifacts/api-reference.png') });
    expect(problems).toEqual([]);
  } finally {
    await browser.close();
  }
}, 60_000);
