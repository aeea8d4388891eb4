import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium';

const ROOT = join(import.meta.dir, '../..');

/** `bun run demo` once it has said it is ready, and a browser to use it. */
export interface DemoUnderTest {
  base: string;
  /** What `bun run demo` printed up to its ready line (and the line after it). */
  banner: string;
  browser: Browser;
}

/**
 * `bun run demo` as a newcomer runs it (from the repository, nothing configured but a free port) and Debian's
 * Chromium, launched at once. `ready` rejects if the demo exits without serving; `stop` ends both, whatever happened.
 */
export function startDemo(): { ready: Promise<DemoUnderTest>; stop(): Promise<void> } {
  const spawned = Bun.spawn(['bun', 'run', 'demo'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0' },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const launching = launchChromium();

  async function serving(): Promise<DemoUnderTest> {
    const decoder = new TextDecoder();
    let output = '';
    let base = '';
    const reader = spawned.stdout.getReader();
    while (!base) {
      const { done, value } = await reader.read();
      if (done) break;
      output += decoder.decode(value);
      // The ready line and the one after it (how to open the demo to the network) make the banner.
      base = /demo ready: (http:\/\/localhost:\d+)\/simulator.*\n.*\n/.exec(output)?.[1] ?? '';
    }
    // What the demo writes from now on is read and dropped: a full pipe would block it.
    void (async () => {
      while (!(await reader.read()).done);
    })();
    const browser = await launching;
    if (!base) throw new Error(`bun run demo exited (${await spawned.exited}) without serving: ${output}${await new Response(spawned.stderr).text()}`);
    return { base, banner: output, browser };
  }

  const ready = serving();
  // Each caller awaits it and reports a failure; unawaited meanwhile, it must not be an unhandled rejection.
  ready.catch(() => {});
  return {
    ready,
    async stop() {
      await ready.catch(() => {});
      await (await launching.catch(() => undefined))?.close();
      spawned.kill('SIGTERM');
      await spawned.exited;
    },
  };
}

/**
 * A page that records every problem the browser saw: script errors, any warning or error in the console (what the
 * Content-Security-Policy blocked, a deprecated option, a failed load), failed loads, requests to another host.
 */
export async function watchedPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => ['warning', 'error'].includes(message.type()) && problems.push(`${message.type()}: ${message.text()}`));
  // The pages name their (empty) icon: the browser asks for no /favicon.ico.
  page.on('response', (response) => response.status() >= 400 && problems.push(`${response.status()} ${response.url()}`));
  page.on('request', (request) => new URL(request.url()).hostname !== 'localhost' && problems.push(`fetched ${request.url()}`));
  return { page, problems };
}
