// Where a run's CPU went, by process, on this machine (Linux /proc): the bench's own process (facesign
// runs in it), PostgreSQL (every backend, including those that exited during the window), Redis and
// the bench's child processes, against the whole machine's busy time. A benchmark whose baseline is
// far cheaper than facesign's path uses this to show what share of the machine each part needs.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';

/** A part of the machine: its processes, and whether CPU of children it has reaped counts (PostgreSQL's postmaster). */
export interface CpuPart {
  name: string;
  pids: number[];
  withReapedChildren?: boolean;
  /** Also every live child of these processes (PostgreSQL's backends). */
  withChildren?: boolean;
  /**
   * Only the children whose command line contains this text, not the processes themselves: the
   * backends of one PostgreSQL database ("postgres: user database host(port) state") on a server
   * other work shares. They are sampled every second, so a child that starts during the window counts
   * whole and one that exits (a pool closing an idle connection) keeps what it had used.
   */
  childrenMatching?: string;
}

export interface CpuAccount {
  /** CPU milliseconds of each part over the window. */
  byPart: Record<string, number>;
  /** CPU milliseconds the whole machine was busy (all processes, kernel included). */
  machineMs: number;
  wallMs: number;
  cores: number;
}

let ticksPerSecond: number | undefined;
function msPerTick(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return 1000 / ticksPerSecond;
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces), or undefined once gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

// Offsets into statFields (field 3 of proc(5), the state, is index 0).
const PPID = 1;
const UTIME = 11;
const STIME = 12;
const CUTIME = 13;
const CSTIME = 14;

function childrenOf(parents: ReadonlySet<number>): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && parents.has(Number(fields[PPID]))) out.push(Number(entry));
  }
  return out;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Each matching child's CPU ticks now. */
function matchingChildrenTicks(part: CpuPart, text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const child of childrenOf(new Set(part.pids))) {
    const f = commandLine(child).includes(text) ? statFields(child) : undefined;
    if (f) out.set(child, Number(f[UTIME]) + Number(f[STIME]));
  }
  return out;
}

function partTicks(part: CpuPart): number {
  const pids = new Set(part.pids);
  if (part.withChildren) for (const child of childrenOf(pids)) pids.add(child);
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (!f) continue;
    ticks += Number(f[UTIME]) + Number(f[STIME]);
    if (part.withReapedChildren && part.pids.includes(pid)) ticks += Number(f[CUTIME]) + Number(f[CSTIME]);
  }
  return ticks;
}

function machineTicks(): number {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = values.map(Number);
  return user + nice + system + irq + softirq + steal;
}

/** Whether this machine can be accounted for (Linux with /proc). */
export function canAccountCpu(): boolean {
  return statFields(process.pid) !== undefined;
}

/** Starts a window; `stop()` gives each part's CPU and the machine's over it. */
export function accountCpu(parts: CpuPart[]): { stop(): CpuAccount } {
  const started = performance.now();
  const machine0 = machineTicks();
  // Parts counted by their matching children: ticks at the start, and the latest seen of each child.
  const sampled = parts.map((part) => {
    if (part.childrenMatching === undefined) return undefined;
    const first = matchingChildrenTicks(part, part.childrenMatching);
    return { text: part.childrenMatching, first, latest: new Map(first) };
  });
  const sample = () =>
    parts.forEach((part, i) => {
      const s = sampled[i];
      if (s) for (const [pid, ticks] of matchingChildrenTicks(part, s.text)) s.latest.set(pid, ticks);
    });
  const sampler = sampled.some(Boolean) ? setInterval(sample, 1000).unref() : undefined;
  const before = parts.map((part, i) => (sampled[i] ? 0 : partTicks(part)));
  return {
    stop() {
      clearInterval(sampler);
      if (sampler) sample();
      const tick = msPerTick();
      const byPart: Record<string, number> = {};
      parts.forEach((part, i) => {
        const s = sampled[i];
        const ticks = s ? [...s.latest].reduce((sum, [pid, latest]) => sum + latest - (s.first.get(pid) ?? 0), 0) : partTicks(part) - before[i]!;
        byPart[part.name] = (byPart[part.name] ?? 0) + Math.max(0, ticks) * tick;
      });
      return { byPart, machineMs: (machineTicks() - machine0) * tick, wallMs: performance.now() - started, cores: cpus().length };
    },
  };
}

/** The PostgreSQL server behind a connection, when it runs on this machine: its postmaster (a backend's parent). */
export function postgresPart(backendPid: number): CpuPart | undefined {
  const fields = statFields(backendPid);
  if (!fields) return undefined;
  return { name: 'postgres', pids: [Number(fields[PPID])], withReapedChildren: true, withChildren: true };
}

/** The Redis server, when it runs on this machine (its pid from INFO server). */
export function redisPart(infoServer: string): CpuPart | undefined {
  const pid = Number(/process_id:(\d+)/.exec(infoServer)?.[1]);
  return pid && statFields(pid) ? { name: 'redis', pids: [pid] } : undefined;
}

/**
 * The calling thread's time on a core and its time runnable but waiting for one (Linux schedstat, in
 * nanoseconds, so short windows are exact): a thread that waits while it has work is short of cores,
 * not of code. Undefined where the kernel does not say.
 */
export function threadSchedule(): { ranMs: number; waitedMs: number } | undefined {
  try {
    const [ran = 0, waited = 0] = readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(/\s+/).map(Number);
    return { ranMs: ran / 1e6, waitedMs: waited / 1e6 };
  } catch {
    return undefined;
  }
}
