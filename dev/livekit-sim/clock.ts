// Simulated time. Scripted durations (ringing, talk time, room timeouts, egress start-up) are written in
// "LiveKit seconds"; the clock multiplies them by `timeScale` so a test can run a 30 s ringing timeout in
// 300 ms. Every timer is tracked so stopping the simulator leaves nothing scheduled behind it.

export class SimClock {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly origin = performance.now();

  constructor(readonly timeScale: number) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
      throw new Error(`timeScale must be a positive number, got ${timeScale}`);
    }
  }

  /** Simulated seconds since the clock started, for deadlines LiveKit measures (egress retention). */
  now(): number {
    return (performance.now() - this.origin) / (1000 * this.timeScale);
  }

  /** Real milliseconds for a number of simulated seconds. */
  toMs(seconds: number): number {
    return Math.max(0, Math.round(seconds * 1000 * this.timeScale));
  }

  /** Runs `task` after `seconds` of simulated time; returns a cancel function. */
  after(seconds: number, task: () => void): () => void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      task();
    }, this.toMs(seconds));
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  sleep(seconds: number): Promise<void> {
    return new Promise((resolve) => {
      this.after(seconds, resolve);
    });
  }

  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/** Wall-clock helpers in the units LiveKit puts on the wire. */
export const wallClock = {
  unixSeconds: (): bigint => BigInt(Math.floor(Date.now() / 1000)),
  unixMs: (): bigint => BigInt(Date.now()),
  // Date.now() has millisecond resolution; timeOrigin + the monotonic clock gives microseconds, so two
  // consecutive timestamps still differ and never go backwards, as time.Now().UnixNano() values in Go.
  unixNanos: (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n,
};
