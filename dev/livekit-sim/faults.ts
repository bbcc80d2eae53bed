// Fault injection rules. Each rule matches the next N occurrences of something (a webhook event, a Twirp
// call, an egress) and is consumed as it fires, so a test states exactly which occurrence misbehaves.

export const WEBHOOK_EVENT_NAMES = [
  'room_started',
  'room_finished',
  'participant_joined',
  'participant_left',
  'participant_connection_aborted',
  'track_published',
  'track_unpublished',
  'egress_started',
  'egress_updated',
  'egress_ended',
] as const;

export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number];

export interface WebhookFault {
  /**
   * drop: never delivered (LiveKit loses events under load); duplicate: delivered twice with the same id;
   * delay: delivered `delaySeconds` later while later events go ahead; reorder: held back until the next
   * event has been delivered.
   */
  action: 'drop' | 'duplicate' | 'delay' | 'reorder';
  event: WebhookEventName | '*';
  /** Only events about this room. */
  room?: string;
  /** How many matching events the rule affects (default 1). */
  count?: number;
  /** For `delay`, in simulated seconds (default 5). */
  delaySeconds?: number;
}

export const TWIRP_FAULT_CODES = ['unavailable', 'internal', 'resource_exhausted'] as const;

export interface TwirpFault {
  /** Twirp code of the injected error (default `unavailable`, HTTP 503). */
  code?: (typeof TWIRP_FAULT_CODES)[number];
  /**
   * When set, the call is not failed but held this many simulated seconds and then served as usual: a
   * slow node, or an egress start that waits for an egress worker.
   */
  delaySeconds?: number;
  /** Number of calls to fail; omitted = every call until the faults are cleared. */
  count?: number;
  /** Only calls to this service, e.g. `SIP`. */
  service?: 'RoomService' | 'Egress' | 'SIP';
  /** Only calls to this method, e.g. `CreateSIPParticipant`. */
  method?: string;
}

export interface EgressFault {
  /**
   * fail: the recording fails while active (EGRESS_FAILED with `error`); upload: storage rejects the file
   * when the egress finishes (the S3 PUT is really sent, with revoked credentials), so it ends FAILED.
   */
  kind: 'fail' | 'upload';
  /** Only egresses of this room. */
  room?: string;
  /** How many egresses the rule affects (default 1). */
  count?: number;
  /** For `fail`: the error LiveKit reports. */
  error?: string;
  /** For `fail`: simulated seconds after the egress became active (default 0). */
  afterSeconds?: number;
}

interface Armed<T> {
  rule: T;
  remaining: number;
}

export class FaultPlan {
  private webhookFaults: Armed<WebhookFault>[] = [];
  private twirpFaults: Armed<TwirpFault>[] = [];
  private egressFaults: Armed<EgressFault>[] = [];

  addWebhookFault(rule: WebhookFault): void {
    this.webhookFaults.push({ rule: { ...rule }, remaining: positiveCount(rule.count, 1) });
  }

  addTwirpFault(rule: TwirpFault): void {
    this.twirpFaults.push({ rule: { ...rule }, remaining: positiveCount(rule.count, Number.POSITIVE_INFINITY) });
  }

  addEgressFault(rule: EgressFault): void {
    this.egressFaults.push({ rule: { ...rule }, remaining: positiveCount(rule.count, 1) });
  }

  takeWebhookFault(event: string, room: string | undefined): WebhookFault | undefined {
    return take(this.webhookFaults, (rule) => (rule.event === '*' || rule.event === event) && matchesRoom(rule.room, room));
  }

  takeTwirpFault(service: string, method: string): TwirpFault | undefined {
    return take(
      this.twirpFaults,
      (rule) => (rule.service === undefined || `livekit.${rule.service}` === service) && (rule.method === undefined || rule.method === method),
    );
  }

  takeEgressFault(room: string): EgressFault | undefined {
    return take(this.egressFaults, (rule) => matchesRoom(rule.room, room));
  }

  clear(): void {
    this.webhookFaults = [];
    this.twirpFaults = [];
    this.egressFaults = [];
  }
}

function take<T>(armed: Armed<T>[], matches: (rule: T) => boolean): T | undefined {
  const index = armed.findIndex((entry) => entry.remaining > 0 && matches(entry.rule));
  const entry = armed[index];
  if (entry === undefined) return undefined;
  entry.remaining -= 1;
  if (entry.remaining <= 0) armed.splice(index, 1);
  return entry.rule;
}

function matchesRoom(wanted: string | undefined, actual: string | undefined): boolean {
  return wanted === undefined || wanted === actual;
}

function positiveCount(count: number | undefined, fallback: number): number {
  if (count === undefined) return fallback;
  if (!Number.isInteger(count) || count < 1) throw new Error(`fault count must be a positive integer, got ${count}`);
  return count;
}
