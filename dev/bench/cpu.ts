/**
 * CPU time for a benchmark's report, from Linux's /proc: this process's (every thread: JS, the
 * workflow thread, the SDK core), the dev server's, and the whole machine's, which says how much
 * of the run other programs on a shared host took. Elsewhere the readings are simply missing.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc counts CPU time in these ticks on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** The child of this process whose command line has `--port <port>` (a dev server we started). */
export function childListeningOn(address: string): number | undefined {
  const port = address.split(':').at(-1);
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (Number(afterName(stat)[1]) !== process.pid) continue;
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        if (args.some((arg, i) => arg === '--port' && args[i + 1] === port)) return Number(entry);
      } catch {
        // The process ended while we looked.
      }
    }
  } catch {
    // No /proc: not Linux.
  }
  return undefined;
}

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces. */
function afterName(stat: string): string[] {
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
}

/** User plus system CPU time a process has used so far, in ms. */
function processCpuMs(pid: number): number | undefined {
  try {
    const fields = afterName(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    // utime and stime are the 14th and 15th fields; the state (3rd) comes first here.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU time of the whole machine so far, in ms summed over its cores. */
function machineCpuMs(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return {
      busy: ((total - idle) * 1000) / TICKS_PER_SECOND,
      total: (total * 1000) / TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}

export interface CpuReading {
  /** This process, ms. */
  self: number;
  /** Other processes by name, ms; undefined when not readable. */
  processes: Record<string, number | undefined>;
  machine?: { busy: number; total: number };
}

/** This process's CPU time, and that of the processes named (by pid; undefined: not ours). */
export function readCpu(pids: Record<string, number | undefined>): CpuReading {
  const usage = process.cpuUsage();
  return {
    self: (usage.user + usage.system) / 1000,
    processes: Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [
        name,
        pid === undefined ? undefined : processCpuMs(pid),
      ]),
    ),
    machine: machineCpuMs(),
  };
}

export interface CpuSpent {
  self: number;
  processes: Record<string, number | undefined>;
  /** Everything else the machine ran meanwhile (other programs), ms. */
  others?: number;
  /** The machine's busy share of its capacity, 0..1. */
  machineBusy?: number;
}

export function cpuBetween(before: CpuReading, after: CpuReading): CpuSpent {
  const self = after.self - before.self;
  const processes: Record<string, number | undefined> = {};
  for (const [name, end] of Object.entries(after.processes)) {
    const start = before.processes[name];
    processes[name] = start !== undefined && end !== undefined ? end - start : undefined;
  }
  if (!before.machine || !after.machine) return { self, processes };
  const busy = after.machine.busy - before.machine.busy;
  const total = after.machine.total - before.machine.total;
  const ours = Object.values(processes).reduce<number>((sum, ms) => sum + (ms ?? 0), self);
  return {
    self,
    processes,
    others: Math.max(0, busy - ours),
    machineBusy: total > 0 ? busy / total : undefined,
  };
}
