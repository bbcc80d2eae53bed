// What every benchmark returns: absolute figures for facesign and for its baseline (measured in the
// same run), the ratio between them, and whether the target was met.
import type { LoadContext } from './stats.js';

export interface BenchResult {
  name: string;
  /** What was run, in words (counts, concurrency). */
  setup: string;
  facesign: Record<string, number | string>;
  baseline: { what: string } & Record<string, number | string>;
  /** facesign / baseline of the headline figure, and what it divides. */
  ratio: { value: number; of: string };
  target: { text: string; met: boolean };
  /** Further figures with targets of their own (e.g. the dispatch bench's LiveKit event lag). */
  more?: { figure: string; target: { text: string; met: boolean } }[];
  load: { before: LoadContext; after: LoadContext };
  notes?: string[];
}
