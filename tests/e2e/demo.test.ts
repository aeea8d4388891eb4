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

test('the reference page renders every route offline, with real examples: nothing fetched from another host, no warning in the console', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    // Blocked content, a deprecated option, a missing file: each is a line in every visitor's console.
    page.on('console', (message) => ['warning', 'error'].includes(message.type()) && problems.push(`${message.type()}: ${message.text()}`));
    page.on('request', (request) => new URL(request.url()).hostname !== 'localhost' && problems.push(`fetched ${request.url()}`));
    await page.goto(`${base}/docs`);
    await page.getByText('/api/crm/send-message').first().waitFor({ timeout: 20_000 });
    await page.getByText('Calls to the CRM').first().click();
    const agentRequest = page.getByRole('heading', { name: 'A ticket was created (agent-request)' });
    await agentRequest.waitFor();
    await agentRequest.scrollIntoViewIfNeeded();
    // Its body is shown with the example's values, not with empty strings.
    await page.getByText('"TK-2026-000123"').first().waitFor();
    const text = await page.locator('body').innerText();
    expect(text).not.toContain('"ticketId": ""');
    // The calls to the CRM read as what happened, once, not "POST POST CRM_AGENT_NOTIFICATION_URL…".
    expect(text).not.toMatch(/POST\s*POST/);
    expect(text).toContain('Sent as POST CRM_AGENT_NOTIFICATION_URL');
    await page.screenshot({ path: join(ROOT, 'artifacts/api-reference.png') });
    expect(problems).toEqual([]);
  } finally {
    await browser.close();
  }
}, 60_000);
