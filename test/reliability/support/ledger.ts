// What each scenario injected and what it found lost, collected across test files and printed as one
// table when the run ends (global-setup.ts).
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LEDGER_DIR = fileURLToPath(new URL('../../../.tmp/reliability/', import.meta.url));

export interface LedgerRow {
  scenario: string;
  fault: string;
  injected: number;
  /** What was checked, e.g. "sessions dialled exactly once". */
  checked: string;
  /** How many things were lost, duplicated or left unresolved (0 is a pass). */
  losses: number;
  seed?: number;
  note?: string;
  /** A failed scenario, recorded whether or not it recorded what it found (support/record-failures.ts). */
  failed?: boolean;
}

export function record(file: string, row: LedgerRow): void {
  mkdirSync(LEDGER_DIR, { recursive: true });
  const path = join(LEDGER_DIR, `${file}.json`);
  let rows: LedgerRow[];
  try {
    rows = JSON.parse(readFileSync(path, 'utf8')) as LedgerRow[];
  } catch {
    rows = [];
  }
  rows.push(row);
  writeFileSync(path, JSON.stringify(rows, null, 2));
}

export function resetLedger(): void {
  mkdirSync(LEDGER_DIR, { recursive: true });
  for (const name of readdirSync(LEDGER_DIR).filter((n) => n.endsWith('.json'))) rmSync(join(LEDGER_DIR, name), { force: true });
}

export function summaryTable(): string {
  let rows: LedgerRow[] = [];
  try {
    for (const name of readdirSync(LEDGER_DIR).filter((n) => n.endsWith('.json') && n !== 'summary.json').sort()) {
      rows = rows.concat(JSON.parse(readFileSync(join(LEDGER_DIR, name), 'utf8')) as LedgerRow[]);
    }
  } catch {
    return 'no reliability results recorded';
  }
  writeFileSync(join(LEDGER_DIR, 'summary.json'), JSON.stringify(rows, null, 2));
  const header = ['scenario', 'fault injected', 'times', 'checked', 'losses', 'seed'];
  const body = rows.map((r) => [r.scenario, r.fault, String(r.injected), r.checked + (r.note ? ` (${r.note})` : ''), r.failed ? 'FAILED' : String(r.losses), r.seed ? String(r.seed) : '']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const total = rows.reduce((n, r) => n + r.losses, 0);
  const failed = rows.filter((r) => r.failed).length;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...body.map(line),
    '',
    `faults injected: ${rows.reduce((n, r) => n + r.injected, 0)}, losses found: ${total}` +
      (failed > 0 ? `, scenarios that FAILED: ${failed}` : ''),
  ].join('\n');
}
