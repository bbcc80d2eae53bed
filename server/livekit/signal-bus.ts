// Who hears about LiveKit-derived changes (participants, rooms, recordings) once they are committed.
import type { Logger } from '../logging.js';
import type { LiveKitSignal, SignalListener } from './livekit-events.service.js';

export class LiveKitSignalBus {
  private readonly listeners: SignalListener[] = [];

  constructor(private readonly log: Logger) {}

  listen(listener: SignalListener): void {
    this.listeners.push(listener);
  }

  /**
   * Each listener is on its own: the event is already committed, so one failing must not keep the
   * others from hearing about it (the sweeper and reconciler repair what a failed listener missed).
   */
  readonly emit = async (signals: LiveKitSignal[]): Promise<void> => {
    for (const listener of this.listeners) {
      try {
        await listener(signals);
      } catch (error) {
        this.log.error({ err: error }, 'a LiveKit signal listener failed');
      }
    }
  };
}
