// What the machine was doing while a bench ran: recorded with every result, because these shared
// 2-core machines vary by ±25% from run to run.
import { readFileSync } from 'node:fs';
import os from 'node:os';

export function machineInfo() {
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) used so far by a process and its waited-for children (Linux /proc). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11..14] = utime stime cutime cstime (stat fields 14–17)
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return ticks / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}
