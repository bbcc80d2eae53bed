// A scenario that fails (whether or not it recorded its result first) appears in the summary table as
// FAILED: the table must never read "0 losses" over scenarios that did not pass.
import { basename } from 'node:path';
import { beforeEach } from 'vitest';
import { record } from './ledger.js';

beforeEach((context) => {
  context.onTestFailed(({ task }) => {
    const error = task.result?.errors?.[0];
    record(`failed-${basename(task.file.name, '.test.ts')}`, {
      scenario: task.name,
      fault: '(the scenario failed)',
      injected: 0,
      checked: (error?.message ?? 'failed').split('\n')[0]!.slice(0, 120),
      losses: 0,
      failed: true,
    });
  });
});
