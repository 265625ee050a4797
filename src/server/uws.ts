import { createRequire } from 'node:module';
import type * as UWS from 'uWebSockets.js';

export type { UWS };

export function nativeBinaryPath(): string {
  return `uWebSockets.js/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
}

/**
 * Loads the native uWebSockets.js addon directly. The package entry point
 * (src/uws.js) silently swaps in a slow pure-JS server when the binary does not
 * match this Node build; Parley would rather not start than run on that.
 */
export function loadUws(modulePath: string = nativeBinaryPath()): typeof UWS {
  const require = createRequire(import.meta.url);
  try {
    return require(modulePath) as typeof UWS;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `uWebSockets.js native binary failed to load: ${modulePath} (Node ${process.version}, ABI ${process.versions.modules}): ${reason}. ` +
        'Parley refuses the slow fallback; run a Node.js version the installed uWebSockets.js ships a binary for.',
      { cause: err },
    );
  }
}

export const uws: typeof UWS = loadUws();
