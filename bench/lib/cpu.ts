import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports process CPU in clock ticks; USER_HZ is 100 on every mainstream kernel build. */
const TICK_MS = 10;

/** utime + stime of a process in ms, from /proc/<pid>/stat; undefined if it is gone. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** CPU ms used so far by every process named `postgres` (the throwaway server and its backends). */
export function postgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    total += processCpuMs(Number(entry)) ?? 0;
  }
  return total;
}

export interface CpuSample {
  readonly serverMs: number;
  readonly databaseMs: number;
}

/** A sampler of the server's and the database's CPU so far. */
export function cpuSampler(serverPid: number): () => CpuSample {
  return () => ({ serverMs: processCpuMs(serverPid) ?? 0, databaseMs: postgresCpuMs() });
}
