// The history of benchmark runs: every `npm run bench` appends its report as one JSON line to
// bench/results/history.jsonl, and each benchmark's figures are compared with the latest earlier run
// of the same benchmark at the same setup (sizes and concurrency), so a regression shows at once.
import { appendFile, readFile } from 'node:fs/promises';
import type { BenchResult } from './report.js';

export interface HistoryEntry {
  at: string;
  results: BenchResult[];
}

export interface FigureChange {
  figure: string;
  before: number;
  after: number;
  /** after ÷ before − 1, in percent (undefined when before is 0). */
  percent: number | undefined;
}

export const HISTORY_FILE = 'history.jsonl';

/** Earlier runs, oldest first; a line that is not a report (a run cut off while writing) is skipped. */
export async function readHistory(dir: string): Promise<HistoryEntry[]> {
  let text: string;
  try {
    text = await readFile(`${dir}${HISTORY_FILE}`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text.split('\n').flatMap((line) => {
    try {
      const entry = JSON.parse(line) as HistoryEntry;
      return Array.isArray(entry.results) ? [entry] : [];
    } catch {
      return [];
    }
  });
}

export async function appendHistory(dir: string, entry: HistoryEntry): Promise<void> {
  // After a run cut off mid-line, the next one still starts a line of its own.
  const tail = await readFile(`${dir}${HISTORY_FILE}`, 'utf8').then((text) => text.slice(-1), () => '');
  await appendFile(`${dir}${HISTORY_FILE}`, `${tail && tail !== '\n' ? '\n' : ''}${JSON.stringify(entry)}\n`);
}

/** The latest earlier result of the same benchmark at the same setup, and when it ran. */
export function previousRun(history: readonly HistoryEntry[], result: BenchResult): { at: string; result: BenchResult } | undefined {
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const match = history[i]!.results.find((r) => r.name === result.name && r.setup === result.setup);
    if (match) return { at: history[i]!.at, result: match };
  }
  return undefined;
}

/** Every number the two results share: facesign's and the baseline's figures, and the ratio. */
export function figureChanges(before: BenchResult, after: BenchResult): FigureChange[] {
  const numbers = (r: BenchResult) =>
    new Map<string, number>([
      ...Object.entries(r.facesign).flatMap(([k, v]) => (typeof v === 'number' && Number.isFinite(v) ? [[`facesign.${k}`, v] as const] : [])),
      ...Object.entries(r.baseline).flatMap(([k, v]) => (typeof v === 'number' && Number.isFinite(v) ? [[`baseline.${k}`, v] as const] : [])),
      ['ratio', r.ratio.value] as const,
    ]);
  const then = numbers(before);
  return [...numbers(after)].flatMap(([figure, value]) => {
    const was = then.get(figure);
    if (was === undefined) return [];
    return [{ figure, before: was, after: value, percent: was === 0 ? undefined : Math.round((value / was - 1) * 1000) / 10 }];
  });
}

/** The lines `npm run bench` prints for one result. */
export function describeChanges(history: readonly HistoryEntry[], result: BenchResult): string[] {
  const previous = previousRun(history, result);
  if (!previous) return [`  change: no earlier run of ${result.name} with this setup in the history`];
  const changes = figureChanges(previous.result, result);
  return [
    `  change since ${previous.at} (${previous.result.target.met ? 'target met' : 'target missed'} then, ${result.target.met ? 'met' : 'missed'} now):`,
    ...changes.map((c) => `    ${c.figure}: ${c.before} → ${c.after}${c.percent === undefined ? '' : ` (${c.percent > 0 ? '+' : ''}${c.percent}%)`}`),
  ];
}
