// How far LiveKit event processing runs behind: for every event, the time from its webhook's arrival
// to its job queued ("queued", on the node that took the webhook: storing it and queueing it), to a
// worker taking it off the queue ("taken": the wait for a worker), to its change committed
// ("applied"), and, for an event that changed something a console shows, to the end of the work that
// emits the socket events ("delivered"). Recorded by the node that did that
// step, exposed on that node's /metrics; benchmarks listen to the same samples.
import { Histogram } from 'prom-client';

export type EventLagStage = 'queued' | 'taken' | 'applied' | 'delivered';

export interface EventLagSample {
  eventId: string;
  stage: EventLagStage;
  /** Epoch milliseconds: the webhook's arrival, and the end of the stage. */
  receivedAt: number;
  at: number;
}

export class EventLag {
  readonly histogram = new Histogram({
    name: 'facesign_livekit_event_lag_seconds',
    help: 'Time from a LiveKit webhook arriving to its event stored and queued (stage="queued", on the node that took the webhook), to a worker taking its event off the queue (stage="taken"), to its event applied (stage="applied") and to the socket events it caused being emitted (stage="delivered"), on the node that did that step',
    labelNames: ['stage'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [],
  });
  private readonly listeners = new Set<(sample: EventLagSample) => void>();

  observe(sample: EventLagSample): void {
    this.histogram.observe({ stage: sample.stage }, Math.max(0, sample.at - sample.receivedAt) / 1000);
    for (const listener of this.listeners) listener(sample);
  }

  /** Hears every sample from now on; returns the way to stop. */
  listen(listener: (sample: EventLagSample) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
}
