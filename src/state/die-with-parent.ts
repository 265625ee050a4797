import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/** util-linux's setpriv (Debian: always there); found once. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/**
 * The command line for a throwaway server (tests, benchmarks) that must not
 * outlive this process. Under setpriv the kernel kills it when the thread that
 * spawned it ends (PR_SET_PDEATHSIG), so a SIGKILL of this process takes it
 * along too, which no exit handler can do. Without setpriv: unchanged (the exit
 * handler of `reapOnExit` still covers every other way of ending). A server
 * that forks workers of its own gets SIGTERM, so that it stops them.
 */
export function dieWithParent(cmd: string, args: readonly string[], signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', signal, '--', cmd, ...args]] : [cmd, [...args]];
}

/** Signals `child` when this process exits (an uncaught error included), unless it has exited before. */
export function reapOnExit(child: ChildProcess, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): void {
  const reap = (): void => void child.kill(signal);
  process.once('exit', reap);
  child.once('exit', () => process.removeListener('exit', reap));
}
