import { loadConfig } from '../config/load.ts';
import { ParleyError } from '../core/errors.ts';
import { startApp } from '../app.ts';
import { adminCommand } from './admin.ts';
import { analyticsCommand } from './analytics.ts';

const USAGE = `usage: parley <command>

commands:
  run        start Parley (embedded Redis unless REDIS_URL is set)
  analytics  usage reports, read-only SQL and erasure (parley analytics help)
  admin      domains, users, contacts and audit through a running Parley's admin API (parley admin help)
  help       this text`;

async function run(): Promise<void> {
  const config = loadConfig();
  if (config.developmentMode) console.warn('*** Parley is in DEVELOPMENT MODE: authentication checks are relaxed. Never use this in production. ***');
  const app = await startApp(config);
  let signals = 0;
  const shutdown = (signal: string): void => {
    signals++;
    if (signals > 1) process.exit(1);
    app.log.info({ signal }, 'draining');
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  console.log(`Parley is up: http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${app.httpPort}/healthz (readiness /readyz, metrics /metrics)`);
  if (app.admin) console.log(`Admin API: http://${config.admin.host}:${app.admin.port}/admin/api/v1 (OpenAPI /admin/api/openapi.json)`);
}

async function main(argv: readonly string[]): Promise<void> {
  const cmd = argv[0] ?? 'help';
  switch (cmd) {
    case 'run':
      return run();
    case 'analytics':
      process.exitCode = await analyticsCommand(argv.slice(1));
      return;
    case 'admin':
      process.exitCode = await adminCommand(argv.slice(1));
      return;
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      console.error(`parley: unknown command "${cmd}"\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ParleyError) console.error(`parley: ${err.code}: ${err.message}`);
  else console.error('parley: fatal:', err);
  process.exit(1);
});
