// Clears the fault ledger before the run and prints the summary table after it.
import { resetLedger, summaryTable } from './support/ledger.js';

export default function setup() {
  resetLedger();
  return () => {
    console.log(`\nfacesign fault injection — summary\n${summaryTable()}\n`);
  };
}
