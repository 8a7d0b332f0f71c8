// Confines a server to a share of a CPU with a cgroup, so an overload bench on a 2-core machine
// measures the server and not the load generator beside it: with the server held to 0.3 of a core,
// the generator has the rest to offer ten times the server's capacity. cgroup v1 (`cpu` hierarchy:
// cpu.cfs_quota_us over cpu.cfs_period_us; usage from `cpuacct`) where mounted, else cgroup v2
// (cpu.max, usage from cpu.stat). Needs root (or a delegated cgroup).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The scheduler's accounting period. The kernel's default, 100 ms, lets a group that used its quota
 * early stall for the rest of the period (70 ms at 0.3 CPU): latency no slower CPU would show. A
 * short period spreads the same share evenly, as a CPU of that speed would.
 */
export const DEFAULT_PERIOD_US = 10_000;
const ROOT = '/sys/fs/cgroup';
/** The least quota the kernel accepts in a period (cgroup v1 and v2 alike), µs. */
const MIN_QUOTA_US = 1000;

/** The scheduler's count of the group's periods so far, and of those in which it ran out of quota. */
export interface Throttling {
  periods: number;
  throttled: number;
  /** Time the group's runnable threads waited for the next period, summed over them, s. */
  throttledSeconds: number;
}

/**
 * `cpu.stat`'s counters (`throttledKey` is in ns under cgroup v1, throttled_time, and in µs under v2,
 * throttled_usec), or undefined where the kernel does not keep them.
 */
function readThrottling(dir: string, throttledKey: string, perSecond: number): Throttling | undefined {
  const stat = readFileSync(join(dir, 'cpu.stat'), 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(stat)?.[1] ?? NaN);
  const t = { periods: field('nr_periods'), throttled: field('nr_throttled'), throttledSeconds: field(throttledKey) / perSecond };
  return Object.values(t).every(Number.isFinite) ? t : undefined;
}

export interface CpuQuota {
  /** e.g. "cgroup v1 /sys/fs/cgroup/cpu/tegami-bench-1234: 30000/100000 µs". */
  readonly describe: string;
  /** Moves processes in; their children forked later stay in. */
  add(pids: readonly number[]): void;
  /** CPU seconds used by everything in the group so far. */
  usageSeconds(): number;
  /** How often the group used up its quota so far: where a server's latency under the quota comes from. */
  throttling(): Throttling | undefined;
  /** Removes the group (its processes must have exited). */
  remove(): void;
}

function moveIn(dir: string, pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // exited meanwhile
    }
  }
}

function v1(name: string, quotaUs: number, periodUs: number): CpuQuota | undefined {
  const cpuRoot = join(ROOT, 'cpu');
  if (!existsSync(join(cpuRoot, 'cpu.cfs_quota_us'))) return undefined;
  const cpu = join(cpuRoot, name);
  mkdirSync(cpu, { recursive: true });
  try {
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(periodUs));
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), String(quotaUs));
  } catch (err) {
    rmdirSync(cpu); // a group the kernel would not configure is not left behind
    throw err;
  }
  // cpu and cpuacct are one hierarchy on some systems (cpu,cpuacct), two on others
  const acctRoot = existsSync(join(cpuRoot, 'cpuacct.usage')) ? cpuRoot : join(ROOT, 'cpuacct');
  const acct = acctRoot === cpuRoot ? cpu : join(acctRoot, name);
  if (acct !== cpu) mkdirSync(acct, { recursive: true });
  return {
    describe: `cgroup v1 ${cpu}: cfs_quota ${quotaUs}/${periodUs} µs`,
    add(pids) {
      moveIn(cpu, pids);
      if (acct !== cpu) moveIn(acct, pids);
    },
    usageSeconds: () => Number(readFileSync(join(acct, 'cpuacct.usage'), 'utf8')) / 1e9,
    throttling: () => readThrottling(cpu, 'throttled_time', 1e9),
    remove() {
      for (const d of new Set([cpu, acct])) rmdirSync(d);
    },
  };
}

function v2(name: string, quotaUs: number, periodUs: number): CpuQuota | undefined {
  const root = [ROOT, join(ROOT, 'unified')].find((d) => existsSync(join(d, 'cgroup.controllers')));
  if (!root || !readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')) return undefined;
  writeFileSync(join(root, 'cgroup.subtree_control'), '+cpu');
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cpu.max'), `${quotaUs} ${periodUs}`);
  return {
    describe: `cgroup v2 ${dir}: cpu.max ${quotaUs} ${periodUs}`,
    add: (pids) => moveIn(dir, pids),
    usageSeconds: () => Number(/^usage_usec (\d+)/m.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'))![1]) / 1e6,
    throttling: () => readThrottling(dir, 'throttled_usec', 1e6),
    remove: () => rmdirSync(dir),
  };
}

/** A cgroup holding its processes to `cores` CPUs (0.3 = 30% of one). Throws, saying why, if it cannot. */
export function createCpuQuota(name: string, cores: number, periodUs = DEFAULT_PERIOD_US): CpuQuota {
  if (!(cores > 0)) throw new Error(`--server-cpu must be a positive number of cores, got ${cores}`);
  if (!(periodUs >= 1000 && periodUs <= 1_000_000)) throw new Error(`the cgroup period must be 1–1000 ms, got ${periodUs / 1000} ms`);
  const quotaUs = Math.round(cores * periodUs);
  if (quotaUs < MIN_QUOTA_US) {
    throw new Error(`${cores} CPU over a ${periodUs / 1000} ms period is a quota of ${quotaUs} µs, under the kernel's least (${MIN_QUOTA_US} µs): use a period of at least ${Math.ceil(MIN_QUOTA_US / cores / 100) / 10} ms`);
  }
  try {
    const q = v1(name, quotaUs, periodUs) ?? v2(name, quotaUs, periodUs);
    if (q) return q;
  } catch (err) {
    throw new Error(`cannot confine the server to ${cores} CPU with a cgroup (${(err as Error).message}); run as root, or without --server-cpu`);
  }
  throw new Error(`cannot confine the server to ${cores} CPU: no cgroup v1 cpu controller under ${ROOT}/cpu and no cgroup v2 with the cpu controller; run without --server-cpu`);
}
