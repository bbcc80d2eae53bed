// The real-LiveKit tier runs against the servers dev/real-livekit/install.sh built; it never falls
// back to the simulator. It names the versions it ran against.
import { describeVersions, INSTALL_SCRIPT, realStackInstalled } from '../../dev/real-livekit/binaries.js';

export default function setup() {
  if (!realStackInstalled()) {
    throw new Error(`The real LiveKit servers are not installed: run ${INSTALL_SCRIPT} (npm run test:livekit does)`);
  }
  console.log(`[livekit tier] real servers: ${describeVersions()}`);
}
