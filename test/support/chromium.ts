import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core. Nothing is downloaded: the
 * browser is the system package (`make test` installs `chromium`);
 * CHROMIUM_PATH overrides where it is looked for.
 */
const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

export function findChromium(): string {
  for (const p of CANDIDATES) {
    if (!p) continue;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // try the next one
    }
  }
  throw new Error('Chromium not found (looked in /usr/bin/chromium and CHROMIUM_PATH). Install it: sudo apt-get install -y chromium');
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    headless: true,
    // /dev/shm is small in containers and VMs; running as root needs --no-sandbox.
    args: ['--disable-dev-shm-usage', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
    timeout: 60_000,
  });
}
