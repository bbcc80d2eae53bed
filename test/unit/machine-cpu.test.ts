// The benchmarks' CPU accounting (bench/support/machine-cpu.ts) decides a reported conclusion (whether a
// target is out of reach on the machine), so it is checked against processes that burn known CPU.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { accountCpu, canAccountCpu, threadSchedule } from '../../bench/support/machine-cpu.js';

const BURN_MS = 400;
// Burns BURN_MS of its own CPU time, however long a loaded machine makes that take on the wall clock.
const burner = `const t = process.cpuUsage(); for (let u = t; u.user + u.system < ${BURN_MS * 1000}; u = process.cpuUsage(t)) {} console.log('burnt');`;

/** Resolves when the process printed `line`; it stays alive until its stdin closes. */
async function printed(child: ChildProcess, line: string): Promise<void> {
  let out = '';
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    if (out.includes(line)) return;
  }
  throw new Error(`exited without printing ${line}`);
}

describe.runIf(canAccountCpu())('machine CPU accounting', () => {
  it('counts the CPU a live process burns to its part, and within the machine total', async () => {
    const child = spawn(process.execPath, ['-e', `${burner} process.stdin.resume();`], { stdio: ['pipe', 'pipe', 'inherit'] });
    const account = accountCpu([{ name: 'burner', pids: [child.pid!] }, { name: 'idle', pids: [] }]);
    await printed(child, 'burnt');
    const result = account.stop();
    child.stdin!.end();
    await once(child, 'exit');
    expect(result.byPart.burner).toBeGreaterThanOrEqual(BURN_MS * 0.75);
    expect(result.byPart.burner).toBeLessThan(BURN_MS * 4);
    expect(result.byPart.idle).toBe(0);
    expect(result.machineMs).toBeGreaterThanOrEqual(result.byPart.burner! * 0.9);
    expect(result.cores).toBeGreaterThan(0);
  });

  it("counts children a part has reaped only when asked (PostgreSQL's exited backends)", async () => {
    // A shell runs the burner to its end (reaping it), says so, then waits: the burner's CPU is now the
    // shell's reaped children's.
    const run = () => spawn('sh', ['-c', `"${process.execPath}" -e "${burner}"; echo reaped; read line`], { stdio: ['pipe', 'pipe', 'inherit'] });
    const withReaped = run();
    const without = run();
    const account = accountCpu([
      { name: 'with', pids: [withReaped.pid!], withReapedChildren: true },
      { name: 'without', pids: [without.pid!] },
    ]);
    await Promise.all([printed(withReaped, 'reaped'), printed(without, 'reaped')]);
    const result = account.stop();
    for (const child of [withReaped, without]) child.stdin!.end();
    await Promise.all([once(withReaped, 'exit'), once(without, 'exit')]);
    expect(result.byPart.with).toBeGreaterThanOrEqual(BURN_MS * 0.75);
    expect(result.byPart.without).toBeLessThan(BURN_MS * 0.25);
  });

  it("gives this thread's time on a core apart from its time waiting for one", async () => {
    // Another process burns CPU meanwhile, competing for the cores; its time must not count here.
    const other = spawn(process.execPath, ['-e', `${burner} process.stdin.resume();`], { stdio: ['pipe', 'pipe', 'inherit'] });
    const before = threadSchedule()!;
    const wall = performance.now();
    // Spin until this thread has run for half the burn, whatever the competition for the cores.
    while (threadSchedule()!.ranMs - before.ranMs < BURN_MS / 2) {
      const t = Date.now();
      while (Date.now() - t < 2) {
        // spin on this thread
      }
    }
    const elapsed = performance.now() - wall;
    const after = threadSchedule()!;
    await printed(other, 'burnt');
    other.stdin!.end();
    await once(other, 'exit');
    const ran = after.ranMs - before.ranMs;
    const waited = after.waitedMs - before.waitedMs;
    expect(ran).toBeGreaterThanOrEqual(BURN_MS * 0.25);
    expect(ran).toBeLessThanOrEqual(elapsed + 5);
    expect(waited).toBeGreaterThanOrEqual(0);
    // A spinning thread is always runnable: it was on a core or waiting for one for the whole spin.
    expect(ran + waited).toBeGreaterThanOrEqual(elapsed * 0.9);
  });
});
