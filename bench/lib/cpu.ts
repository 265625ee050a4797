import { readFileSync } from 'node:fs';
import os from 'node:os';

/** CPU time counters (clock ticks) of the whole machine and of some processes. */
export interface CpuSample {
  machineBusy: number;
  machineTotal: number;
  own: number;
}

function procTicks(pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3; utime/stime are 14/15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

/**
 * Reads /proc (Linux only; zeros elsewhere). `pids` are processes counted as
 * ours besides this one (the benchmark's redis-server).
 */
export function cpuSample(pids: ReadonlyArray<number | undefined>): CpuSample {
  let machineBusy = 0;
  let machineTotal = 0;
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
    machineBusy = user + nice + system + irq + softirq;
    machineTotal = machineBusy + idle + iowait + steal;
  } catch {
    // not Linux
  }
  let own = procTicks('self');
  for (const pid of pids) if (pid) own += procTicks(pid);
  return { machineBusy, machineTotal, own };
}

export interface CpuShare {
  /** Cores' worth of CPU used by the benchmark (this process with its workers, and its redis-server). */
  ownCores: number;
  /** Cores' worth of CPU used by every other process on the machine meanwhile: the noise. */
  foreignCores: number;
}

export function cpuShare(a: CpuSample, b: CpuSample): CpuShare {
  const total = b.machineTotal - a.machineTotal;
  if (total <= 0) return { ownCores: 0, foreignCores: 0 };
  const perCore = total / os.cpus().length;
  const own = b.own - a.own;
  const busy = b.machineBusy - a.machineBusy;
  return { ownCores: own / perCore, foreignCores: Math.max(0, busy - own) / perCore };
}
