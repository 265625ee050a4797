/**
 * Benchmark runner: `npm run bench` runs every registered benchmark,
 * `npm run bench -- spine` only the named ones. See docs/benchmarks.md.
 */
interface Benchmark {
  run(): Promise<void>;
}

const registry: Record<string, () => Promise<Benchmark>> = {
  spine: () => import('./spine.ts'),
  xmpp: () => import('./xmpp.ts'),
  sip: () => import('./sip.ts'),
  analytics: () => import('./analytics.ts'),
  teams: () => import('./teams.ts'),
  portal: () => import('./portal.ts'),
};

async function main(): Promise<number> {
  const names = process.argv.slice(2).filter((a) => a !== '--');
  const unknown = names.filter((n) => !Object.hasOwn(registry, n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
    console.error(`available: ${Object.keys(registry).join(', ')}`);
    return 2;
  }
  const selected = names.length > 0 ? names : Object.keys(registry);
  let failed = 0;
  for (const name of selected) {
    const load = registry[name];
    if (!load) continue;
    try {
      const bench = await load();
      await bench.run();
    } catch (err) {
      failed++;
      console.error(`\nbenchmark ${name} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
  return failed > 0 ? 1 : 0;
}

const code = await main();
process.exitCode = code;
// Benchmarks close everything they open, but a library may leave a timer
// running (Hub.stop currently leaves its drain-timeout timers armed for up to
// runtime.drainTimeoutMs): don't wait for it.
setTimeout(() => {
  console.error(`bench: still held open by ${process.getActiveResourcesInfo().join(', ')} after the benchmarks finished; exiting`);
  process.exit(code);
}, 5_000).unref();
