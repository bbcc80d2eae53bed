// Realtime events: thin, versioned, emitted after commit. Clients refetch details over HTTP.
import { z } from 'zod';

const contractPage = z.number().int().min(1).max(2000);

export const presenceSchema = z.enum(['available', 'busy', 'away']);

export const agentServerEvents = {
  'session:changed': z.object({ v: z.literal(1), sessionId: z.uuid(), state: z.string(), version: z.number().int() }),
  'offer:new': z.object({ v: z.literal(1), offerId: z.uuid(), sessionId: z.uuid(), kind: z.enum(['CALL', 'VIDEO']), expiresAt: z.string() }),
  'offer:closed': z.object({ v: z.literal(1), offerId: z.uuid(), status: z.enum(['ACCEPTED', 'DECLINED', 'EXPIRED', 'WITHDRAWN']) }),
  'checklist:changed': z.object({ v: z.literal(1), sessionId: z.uuid(), itemId: z.string(), revision: z.number().int() }),
  /** To supervisors, and to the agent's own consoles (another tab, or the server, changed it). */
  'presence:changed': z.object({ v: z.literal(1), agentId: z.uuid(), presence: presenceSchema }),
  /** Supervisors: an offer was made or resolved (the session itself may not have changed). */
  'offer:changed': z.object({ v: z.literal(1), offerId: z.uuid(), sessionId: z.uuid(), agentId: z.uuid(), status: z.enum(['PENDING', 'ACCEPTED', 'DECLINED', 'EXPIRED', 'WITHDRAWN']) }),
  alert: z.object({ v: z.literal(1), kind: z.string(), sessionId: z.uuid().optional(), message: z.string() }),
  /** A face-match assist result was completed for the session (refetch GET /api/sessions/:id/face-matches). */
  'face-match:changed': z.object({ v: z.literal(1), sessionId: z.uuid(), faceMatchId: z.uuid(), status: z.enum(['DONE', 'FAILED']) }),
  /** An active-liveness check was completed for the session (refetch GET /api/sessions/:id/liveness-checks). */
  'liveness:changed': z.object({ v: z.literal(1), sessionId: z.uuid(), livenessCheckId: z.uuid(), status: z.enum(['DONE', 'FAILED']) }),
  /** The session's contract view changed: a page presented, the borrower turned a page, or signed. Refetch GET /api/sessions/:id/contract. */
  'contract:changed': z.object({ v: z.literal(1), sessionId: z.uuid(), reason: z.enum(['presented', 'viewing', 'signed']) }),
} as const;

export const partyServerEvents = {
  'session:changed': z.object({ v: z.literal(1), sessionId: z.uuid(), state: z.string(), version: z.number().int() }),
  'waiting:position': z.object({ v: z.literal(1), position: z.number().int().min(0) }),
  /** The agent turned the contract to this page (1-based). */
  'contract:present': z.object({ v: z.literal(1), page: z.number().int().min(1) }),
} as const;

export const agentClientEvents = {
  'presence:set': z.object({ presence: presenceSchema }),
  /** The status the server holds for the agent (a console shows it after a reload, rather than its own guess). */
  'presence:get': z.object({}).optional(),
  heartbeat: z.object({}).optional(),
  'session:watch': z.object({ sessionId: z.uuid() }),
  /** The assigned agent shows the borrower this page of the contract. */
  'contract:present': z.object({ sessionId: z.uuid(), page: contractPage }),
} as const;

/** What a borrower's page may send (its session comes from the handshake, never from the payload). */
export const partyClientEvents = {
  /** The page of the contract the borrower's screen shows now. */
  'contract:viewing': z.object({ page: contractPage }),
} as const;

export type AgentServerEvent = keyof typeof agentServerEvents;
export type PartyServerEvent = keyof typeof partyServerEvents;
export type AgentEventPayload<E extends AgentServerEvent> = z.infer<(typeof agentServerEvents)[E]>;
export type PartyEventPayload<E extends PartyServerEvent> = z.infer<(typeof partyServerEvents)[E]>;

// socket.io's event maps, derived from the schemas above, for both ends: the server types its namespaces
// with them (`Namespace<AgentClientToServerEvents, AgentServerToClientEvents>`) and the console its
// sockets (`Socket<AgentServerToClientEvents, AgentClientToServerEvents>`, a type-only import).

/** The acknowledgement of a client event: `ok`, with what the event answers, or a problem code. */
export type SocketAck<Answer extends object = object> = ({ ok: true } & Answer) | { ok: false; code: string; message: string };
// The acknowledgement is optional; a union of argument lists rather than `ack?` so socket.io-client's
// `timeout()` still recognises it as one.
type Acked<Payload, Answer extends object = object> = (...args: [payload: Payload] | [payload: Payload, ack: (response: SocketAck<Answer>) => void]) => void;
type Input<S extends z.ZodType> = z.input<S>;

export type AgentServerToClientEvents = { [E in AgentServerEvent]: (payload: AgentEventPayload<E>) => void };
export type PartyServerToClientEvents = { [E in PartyServerEvent]: (payload: PartyEventPayload<E>) => void };

export interface AgentClientToServerEvents {
  'presence:set': Acked<Input<(typeof agentClientEvents)['presence:set']>>;
  'presence:get': Acked<Input<(typeof agentClientEvents)['presence:get']>, { presence: z.infer<typeof presenceSchema> }>;
  /** `lapsed: true` when the presence had expired: the console then sets it again. */
  heartbeat: Acked<Input<(typeof agentClientEvents)['heartbeat']>, { lapsed: boolean }>;
  'session:watch': Acked<Input<(typeof agentClientEvents)['session:watch']>>;
  'contract:present': Acked<Input<(typeof agentClientEvents)['contract:present']>>;
}

export interface PartyClientToServerEvents {
  'contract:viewing': Acked<Input<(typeof partyClientEvents)['contract:viewing']>>;
}

/**
 * Where events go. Rooms: `agent:<userId>`, `login:<loginSessionId>`, `supervisors`, `session:<id>` (agent
 * namespace), `party:<sessionId>`.
 */
export interface RealtimeEmitter {
  toAgent<E extends AgentServerEvent>(userId: string, event: E, payload: AgentEventPayload<E>): void;
  toSupervisors<E extends AgentServerEvent>(event: E, payload: AgentEventPayload<E>): void;
  /** With `andAgent` / `andSupervisors`, those sockets too, in the same broadcast (each socket gets it once). */
  toSessionWatchers<E extends AgentServerEvent>(sessionId: string, event: E, payload: AgentEventPayload<E>, options?: { andAgent?: string; andSupervisors?: boolean }): void;
  toParty<E extends PartyServerEvent>(sessionId: string, event: E, payload: PartyEventPayload<E>): void;
}

/**
 * Ends console connections whose credential changed, on every node (through the Redis adapter). Call after
 * the change is committed: a console that reconnects is authenticated afresh, or refused.
 */
export interface ConsoleConnections {
  /** Logged out or revoked login sessions. */
  endLoginSessions(loginSessionIds: string[]): void;
  /** Every connection of a user who was disabled or whose roles changed. */
  endUserConnections(userId: string): void;
}
