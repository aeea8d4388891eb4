import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's headless shell when it is installed: the same Chromium without the browser's own interface, which in
 * headless mode still runs (a WebUI renderer among others) and took two thirds of the CPU the dashboard's tests
 * cost. Debian's full Chromium otherwise.
 */
const CHROMIUM = ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'].find((path) => existsSync(path));

/**
 * Debian's Chromium, headless, through playwright-core (no browser download
 * here). The flags keep it from calling home: this machine has no network, and
 * every refused background connection would be noise.
 */
export function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('Chromium is missing: apt-get install -y chromium-headless-shell (.ci/run does it)');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
