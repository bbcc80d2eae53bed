// A worker-only facesign node (FACESIGN_ROLES=worker) in a process of its own, so that a benchmark can
// read its CPU apart from the api node's. Driven over IPC by worker-nodes.ts:
//   parent -> { type: 'start', env }        child -> { type: 'ready' }
//   parent -> { type: 'mark' }              child -> { type: 'marked' }      (pool waits counted from here)
//   parent -> { type: 'report' }            child -> { type: 'report', lag: EventLagSample[], pool, errors }
//   parent -> { type: 'stop' }              child stops the node and exits
// The LiveKit events are applied on worker nodes, so their lag samples are taken here and sent back.
import { Writable } from 'node:stream';
import { loadConfig, type Env } from '../../server/config.js';
import { createFacesign, type Facesign } from '../../server/main.js';
import { sqlPool } from '../../server/db/client.js';
import type { EventLagSample } from '../../server/metrics/event-lag.js';
import { watchPoolWaits } from './pool-wait.js';

let node: Facesign | undefined;
const samples: EventLagSample[] = [];
const errors: string[] = [];
let pool: ReturnType<typeof watchPoolWaits> | undefined;

const logs = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (/"level":"(error|fatal)"/.test(line) && errors.length < 100) errors.push(line);
    done();
  },
});

async function start(env: Partial<Record<keyof Env, string>>): Promise<void> {
  node = await createFacesign(loadConfig({ ...env, FACESIGN_ROLES: 'worker', PORT: '0' }), { logDestination: logs });
  pool = watchPoolWaits(sqlPool(node.db));
  node.eventLag.listen((sample) => samples.push(sample));
  await node.listen();
}

process.on('message', (message: { type: string; env?: Partial<Record<keyof Env, string>> }) => {
  const fail = (error: Error) => process.send?.({ type: 'error', message: error.stack ?? error.message });
  if (message.type === 'start') {
    start(message.env ?? {}).then(() => process.send?.({ type: 'ready' }), fail);
  } else if (message.type === 'mark') {
    samples.length = 0;
    pool?.reset();
    process.send?.({ type: 'marked' });
  } else if (message.type === 'report') {
    process.send?.({ type: 'report', lag: samples, pool: pool?.report(), errors });
  } else if (message.type === 'stop') {
    void (node?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
  }
});
