// The bench history: what `npm run bench` compares a run's figures with, and how it says so.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendHistory, describeChanges, figureChanges, previousRun, readHistory, type HistoryEntry } from '../../bench/support/history.js';
import type { BenchResult } from '../../bench/support/report.js';

const load = { cpus: 2, loadAverage1m: 1, loadAverage5m: 1, memoryFreeMB: 1, memoryTotalMB: 2 };
const result = (name: string, setup: string, p99: number, ratio: number, met = true): BenchResult => ({
  name,
  setup,
  facesign: { p99Ms: p99, note: 'text is not a figure' },
  baseline: { what: 'bare', p99Ms: 10 },
  ratio: { value: ratio, of: 'p99 ÷ p99' },
  target: { text: 'p99 < 100 ms', met },
  load: { before: load, after: load },
});

describe('bench history', () => {
  it('compares with the latest earlier run of the same benchmark at the same setup', () => {
    const history: HistoryEntry[] = [
      { at: '2026-12-01T00:00:00.000Z', results: [result('realtime', '1000 sockets', 40, 4)] },
      { at: '2026-12-02T00:00:00.000Z', results: [result('realtime', '1000 sockets', 50, 5), result('webhook', '10 s', 1, 1)] },
      { at: '2026-12-03T00:00:00.000Z', results: [result('realtime', '200 sockets', 20, 2)] },
    ];
    const now = result('realtime', '1000 sockets', 75, 7.5, false);
    expect(previousRun(history, now)?.at).toBe('2026-12-02T00:00:00.000Z');
    expect(figureChanges(previousRun(history, now)!.result, now)).toEqual([
      { figure: 'facesign.p99Ms', before: 50, after: 75, percent: 50 },
      { figure: 'baseline.p99Ms', before: 10, after: 10, percent: 0 },
      { figure: 'ratio', before: 5, after: 7.5, percent: 50 },
    ]);
    const lines = describeChanges(history, now);
    expect(lines[0]).toContain('since 2026-12-02T00:00:00.000Z (target met then, missed now)');
    expect(lines).toContain('    facesign.p99Ms: 50 → 75 (+50%)');
    expect(describeChanges(history, result('realtime', '5000 sockets', 1, 1))[0]).toContain('no earlier run');
  });

  it('appends one line per run and reads them back, skipping a line cut off mid-write', async () => {
    const dir = `${await mkdtemp(join(tmpdir(), 'bench-history-'))}/`;
    try {
      expect(await readHistory(dir)).toEqual([]);
      await appendHistory(dir, { at: 'first', results: [result('hash', '256M', 1, 1)] });
      await writeFile(`${dir}history.jsonl`, '{"at":"cut off","resu', { flag: 'a' });
      await appendHistory(dir, { at: 'second', results: [result('hash', '256M', 2, 2)] });
      expect((await readHistory(dir)).map((e) => e.at)).toEqual(['first', 'second']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
