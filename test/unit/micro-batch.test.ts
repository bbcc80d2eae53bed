import { describe, expect, it } from 'vitest';
import { MicroBatch } from '../../server/db/micro-batch.js';

function recorder(options = { maxBatch: 3, maxInFlight: 1 }) {
  const batches: number[][] = [];
  let release: (() => void) | undefined;
  const batch = new MicroBatch<number, string>(
    async (items) => {
      batches.push(items);
      if (items.includes(-1)) throw new Error('the write failed');
      await new Promise<void>((resolve) => (release = resolve));
      return items.map((i) => `r${i}`);
    },
    options,
  );
  return { batch, batches, release: () => release?.() };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('MicroBatch', () => {
  it('writes a lone item at once, and groups what arrives while a write is in flight', async () => {
    const { batch, batches, release } = recorder();
    const first = batch.submit(1);
    await tick();
    expect(batches).toEqual([[1]]);
    const rest = [2, 3, 4, 5].map((i) => batch.submit(i));
    await tick();
    expect(batches).toEqual([[1]]); // waiting for the write in flight
    release();
    expect(await first).toBe('r1');
    await tick();
    expect(batches).toEqual([[1], [2, 3, 4]]); // at most maxBatch together
    release();
    await tick();
    release();
    expect(await Promise.all(rest)).toEqual(['r2', 'r3', 'r4', 'r5']);
    expect(batches).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('fails every item of a failed batch, and goes on with the next', async () => {
    const { batch, batches, release } = recorder({ maxBatch: 10, maxInFlight: 1 });
    const first = batch.submit(0);
    await tick();
    const doomed = [batch.submit(-1), batch.submit(7)];
    release();
    await first;
    await expect(doomed[0]).rejects.toThrow('the write failed');
    await expect(doomed[1]).rejects.toThrow('the write failed');
    const after = batch.submit(8);
    await tick();
    release();
    expect(await after).toBe('r8');
    expect(batches).toEqual([[0], [-1, 7], [8]]);
  });

  it('keeps up to maxInFlight writes going at once', async () => {
    const { batch, batches } = recorder({ maxBatch: 1, maxInFlight: 2 });
    void batch.submit(1);
    void batch.submit(2);
    void batch.submit(3);
    await tick();
    expect(batches).toEqual([[1], [2]]);
  });
});
