// The automated call's notes on the items it could not settle, as codes with values: the console words
// them in the viewer's language; the answer row also keeps the English wording, which is what the
// evidence package, the LOS result and anyone reading the database see.
export type AutomatedNote =
  /** No key within the answer timeout. */
  | { code: 'NO_KEY'; params: { seconds: number } }
  /** No key within the answer timeout, but the voice detector heard the party speak. */
  | { code: 'NO_KEY_SPOKE'; params: { seconds: number; spokeSeconds: number } }
  /** The party pressed 2. */
  | { code: 'DENIED_KEY'; params: Record<string, never> }
  /** The question was spoken as often as allowed without a 1 or a 2. */
  | { code: 'REPEATS_USED'; params: { times: number; lastKey: string } };

export type AutomatedNoteCode = AutomatedNote['code'];

/** The English wording of a note (stored as the answer's `note`). */
export function automatedNoteText(note: AutomatedNote): string {
  switch (note.code) {
    case 'NO_KEY':
      return `automated call: no key pressed within ${note.params.seconds} s`;
    case 'NO_KEY_SPOKE':
      return `automated call: no key pressed within ${note.params.seconds} s; the party spoke (${note.params.spokeSeconds.toFixed(1)} s)`;
    case 'DENIED_KEY':
      return 'automated call: the party pressed 2';
    case 'REPEATS_USED':
      return `automated call: no answer after the question was spoken ${note.params.times} times (last key: ${note.params.lastKey})`;
  }
}
