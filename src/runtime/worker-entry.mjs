// Worker-thread entry: registers tsx's loader when the runtime runs from TypeScript
// sources (Node 20 does not honour --import in a worker's execArgv), then loads the shard.
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
