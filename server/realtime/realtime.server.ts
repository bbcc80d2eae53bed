// socket.io for the consoles: one namespace for agents and supervisors. Handshakes authenticate with
// the session cookie (and a cross-site Origin is refused); every client event is validated and
// authorised, and re-reads the login session first. The Redis adapter lets any node — API or worker —
// reach sockets on every other node, which is also how a logout on one node ends sockets on the others.
import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { Redis } from 'ioredis';
import { Server, type Namespace, type Socket } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Logger } from '../logging.js';
import { parseCookies } from '../shared/cookies.js';
import { AppError } from '../shared/errors.js';
import { SESSION_COOKIE, type AuthService } from '../auth/auth.service.js';
import type { Principal } from '../auth/principal.js';
import {
  agentClientEvents,
  partyClientEvents,
  type AgentClientToServerEvents,
  type AgentServerToClientEvents,
  type ConsoleConnections,
  type PartyClientToServerEvents,
  type PartyServerToClientEvents,
  type RealtimeEmitter,
  type SocketAck,
} from './events.js';
import type { Presence, PresenceService } from './presence.js';

type UserPrincipal = Extract<Principal, { kind: 'user' }>;

export interface RealtimeOptions {
  redisUrl: string;
  prefix: string;
  /** Origins a console may connect from (anything else is a cross-site page). */
  allowedOrigins: string[];
  log: Logger;
  auth: AuthService;
  presence: PresenceService;
  /** How long the gone mark of an agent whose consoles all went must outlive (the departure grace period). */
  departureGraceMs: number;
}

/**
 * What the socket events do beyond this file: handed to `attach`, so a server never serves a socket
 * with a reaction missing. Each feature contributes its part at composition (main.ts).
 */
export interface RealtimeHandlers {
  /** May this user follow this session live? (assigned agent, supervisors) */
  canWatchSession(principal: UserPrincipal, sessionId: string): Promise<boolean>;
  /** Called after an agent's presence changed (e.g. to route waiting sessions or withdraw offers). */
  onPresenceChanged(userId: string, presence: Presence): Promise<void>;
  /** The agent's last console went at `at` (epoch ms), and none came back meanwhile. */
  onAgentLeft(userId: string, at: number): Promise<void>;
  /** A console of an agent who had left came back (within the grace period). */
  onAgentBack(userId: string): Promise<void>;
  /** A borrower's socket: the link token and party token from the handshake, to the session id. */
  authenticateParty(linkToken: string, partyToken: string): Promise<string>;
  /** A borrower connected (e.g. to tell them their place in the queue). */
  onPartyConnected(sessionId: string): Promise<void>;
  /** An agent asks to show the borrower a page of the contract (the handler checks it is the assigned agent). */
  onContractPresent(principal: UserPrincipal, sessionId: string, page: number, requestId: string): Promise<void>;
  /** A borrower's page reports the contract page it shows. */
  onPartyContractPage(sessionId: string, page: number): Promise<void>;
}

export interface Realtime {
  io: Server;
  emitter: RealtimeEmitter;
  connections: ConsoleConnections;
  /** Is a console of this user's connected to /agent now, on any node? */
  isConnected(userId: string): Promise<boolean>;
  /** Starts serving sockets on the HTTP server, with what their events do. */
  attach(httpServer: HttpServer, handlers: RealtimeHandlers): void;
  /** Ends every console and party connection (shutdown: they reconnect to another node). */
  disconnectAll(): void;
  close(): Promise<void>;
}

type Ack = (response: SocketAck<Record<string, unknown>>) => void;
/** What a handshake leaves on a socket: the signed-in user (/agent) or the borrower's session (/party). */
interface SocketData {
  principal: UserPrincipal;
  sessionId: string;
}
type AgentSocket = Socket<AgentClientToServerEvents, AgentServerToClientEvents, Record<string, never>, SocketData>;

export function createRealtime(options: RealtimeOptions): Realtime {
  const pub = new Redis(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) client.on('error', (err) => options.log.warn({ err }, 'realtime redis error'));
  const io = new Server({ serveClient: false, path: '/socket.io', cors: { origin: options.allowedOrigins, credentials: true } });
  io.adapter(createAdapter(pub, sub, { key: `${options.prefix}:socket.io` }));
  const allowedOrigins = new Set(options.allowedOrigins);
  // A socket coming or going never sets an agent's chosen status (a reload keeps it); the last one going
  // starts the departure grace period. While this node shuts down its sockets drop, but the agents are
  // not going anywhere: they reconnect to another node, and their presence lapses if they really left.
  let closing = false;
  let handlers: RealtimeHandlers | undefined;
  // Sockets connect only once attach() has handed the handlers in.
  const on = (): RealtimeHandlers => {
    if (!handlers) throw new Error('realtime: a socket arrived before attach()');
    return handlers;
  };

  const agents: Namespace<AgentClientToServerEvents, AgentServerToClientEvents, Record<string, never>, SocketData> = io.of('/agent');
  agents.use(async (socket, next) => {
    try {
      const origin = socket.handshake.headers.origin;
      if (origin && !allowedOrigins.has(origin)) return next(Object.assign(new Error('FORBIDDEN'), { data: { code: 'FORBIDDEN' } }));
      const token = parseCookies(socket.handshake.headers.cookie)[SESSION_COOKIE];
      if (!token) return next(Object.assign(new Error('UNAUTHENTICATED'), { data: { code: 'UNAUTHENTICATED' } }));
      const principal = await options.auth.authenticateSessionToken(token);
      if (!principal.roles.some((r) => r === 'AGENT' || r === 'SUPERVISOR' || r === 'ADMIN')) {
        return next(Object.assign(new Error('FORBIDDEN'), { data: { code: 'FORBIDDEN' } }));
      }
      socket.data.principal = principal;
      next();
    } catch {
      next(Object.assign(new Error('UNAUTHENTICATED'), { data: { code: 'UNAUTHENTICATED' } }));
    }
  });

  agents.on('connection', (socket: AgentSocket) => {
    const principal = socket.data.principal;
    // Kept here, not in socket.data: fetchSockets() ships socket.data to other nodes through Redis.
    const sessionToken = parseCookies(socket.handshake.headers.cookie)[SESSION_COOKIE] ?? '';
    const isAgent = principal.roles.includes('AGENT');
    void socket.join([`agent:${principal.userId}`, `login:${principal.loginSessionId}`]);
    if (principal.roles.some((r) => r === 'SUPERVISOR' || r === 'ADMIN')) void socket.join('supervisors');
    if (isAgent) {
      void (async () => {
        try {
          if (await options.presence.markBack(principal.userId)) await on().onAgentBack(principal.userId);
        } catch (error) {
          options.log.warn({ err: error }, 'could not record an agent coming back');
        }
      })();
    }

    /**
     * The handshake's principal, if it still holds. A revocation, a disabled user or a role change ends
     * the socket through its rooms, but that message can be missed (a node restarting, Redis failing
     * over) and a session can simply expire: so each event re-reads the session, and a socket whose
     * session ended or whose roles changed is refused and disconnected (the console reconnects with the
     * current roles, or is refused).
     */
    const stillValid = async (reply: Ack): Promise<boolean> => {
      let current: UserPrincipal;
      try {
        current = await options.auth.authenticateSessionToken(sessionToken);
      } catch (error) {
        if (!(error instanceof AppError)) {
          // The database did not answer: the handshake's check stands until it does, rather than every
          // console being cut (and marked away) by a blip.
          options.log.warn({ err: error }, 'could not re-check a console session');
          return true;
        }
        reply({ ok: false, code: 'UNAUTHENTICATED', message: 'your session has ended; sign in again' });
        socket.disconnect(true);
        return false;
      }
      if (current.roles.length !== principal.roles.length || current.roles.some((r) => !principal.roles.includes(r))) {
        reply({ ok: false, code: 'FORBIDDEN', message: 'your roles have changed; reconnect' });
        socket.disconnect(true);
        return false;
      }
      return true;
    };

    const handle = <T>(event: 'presence:set' | 'presence:get' | 'heartbeat', schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, allowed: boolean, run: (payload: T) => Promise<void | Record<string, unknown>>) => {
      socket.on(event, async (payload: unknown, ack?: Ack) => {
        const reply: Ack = typeof ack === 'function' ? ack : () => undefined;
        if (!(await stillValid(reply))) return;
        if (!allowed) return reply({ ok: false, code: 'FORBIDDEN', message: `${event} is not allowed for your role` });
        const parsed = schema.safeParse(payload ?? {});
        if (!parsed.success) return reply({ ok: false, code: 'VALIDATION_FAILED', message: `invalid ${event} payload` });
        try {
          const extra = await run(parsed.data);
          reply({ ...(extra ?? {}), ok: true });
        } catch (error) {
          options.log.warn({ event, err: error }, 'socket event failed');
          reply({ ok: false, code: 'INTERNAL', message: 'could not handle the event' });
        }
      });
    };

    handle('presence:set', agentClientEvents['presence:set'], isAgent, async ({ presence }) => {
      await options.presence.set(principal.userId, presence);
      await on().onPresenceChanged(principal.userId, presence);
    });
    handle('presence:get', agentClientEvents['presence:get'], isAgent, async () => ({ presence: await options.presence.chosen(principal.userId) }));
    // The acknowledgement says `lapsed: true` when the presence had expired: the console then sets it again.
    handle('heartbeat', agentClientEvents.heartbeat, isAgent, async () => ({ lapsed: !(await options.presence.heartbeat(principal.userId)) }));
    socket.on('session:watch', async (payload: unknown, ack?: Ack) => {
      const reply: Ack = typeof ack === 'function' ? ack : () => undefined;
      if (!(await stillValid(reply))) return;
      const parsed = agentClientEvents['session:watch'].safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'VALIDATION_FAILED', message: 'invalid session:watch payload' });
      if (!(await on().canWatchSession(principal, parsed.data.sessionId))) return reply({ ok: false, code: 'FORBIDDEN', message: 'not your session' });
      await socket.join(`session:${parsed.data.sessionId}`);
      reply({ ok: true });
    });

    socket.on('contract:present', async (payload: unknown, ack?: Ack) => {
      const reply: Ack = typeof ack === 'function' ? ack : () => undefined;
      if (!(await stillValid(reply))) return;
      if (!isAgent) return reply({ ok: false, code: 'FORBIDDEN', message: 'contract:present is not allowed for your role' });
      const parsed = agentClientEvents['contract:present'].safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'VALIDATION_FAILED', message: 'invalid contract:present payload' });
      try {
        await on().onContractPresent(principal, parsed.data.sessionId, parsed.data.page, randomUUID());
        reply({ ok: true });
      } catch (error) {
        replyWithError(reply, error, 'contract:present');
      }
    });

    socket.on('disconnect', async () => {
      if (!isAgent || closing) return;
      try {
        // Marked first, then looked for elsewhere (another tab, another node): a console connecting
        // meanwhile either is found here or clears the mark itself.
        const at = Date.now();
        await options.presence.markGone(principal.userId, at, options.departureGraceMs);
        const others = await agents.in(`agent:${principal.userId}`).fetchSockets();
        if (others.length > 0) {
          if (await options.presence.markBack(principal.userId)) await on().onAgentBack(principal.userId);
          return;
        }
        await on().onAgentLeft(principal.userId, at);
      } catch (error) {
        options.log.warn({ err: error }, 'could not record an agent leaving; their presence will lapse');
      }
    });
  });

  // Borrowers: read-only, one room per session, authenticated by their link and party token.
  const parties: Namespace<PartyClientToServerEvents, PartyServerToClientEvents, Record<string, never>, SocketData> = io.of('/party');
  parties.use(async (socket, next) => {
    try {
      const auth = socket.handshake.auth as { link?: unknown; partyToken?: unknown };
      if (typeof auth.link !== 'string' || typeof auth.partyToken !== 'string') throw new Error('missing');
      socket.data.sessionId = await on().authenticateParty(auth.link, auth.partyToken);
      next();
    } catch {
      next(Object.assign(new Error('UNAUTHENTICATED'), { data: { code: 'UNAUTHENTICATED' } }));
    }
  });
  parties.on('connection', async (socket) => {
    const sessionId = socket.data.sessionId;
    // Registered before anything is awaited, so an event sent right after connecting is not lost.
    // A page turns a few times a minute; a socket reporting faster than 5 a second is refused, not relayed.
    let lastReport = 0;
    socket.on('contract:viewing', async (payload: unknown, ack?: Ack) => {
      const reply: Ack = typeof ack === 'function' ? ack : () => undefined;
      const parsed = partyClientEvents['contract:viewing'].safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'VALIDATION_FAILED', message: 'invalid contract:viewing payload' });
      const now = Date.now();
      if (now - lastReport < 200) return reply({ ok: false, code: 'RATE_LIMITED', message: 'too many page reports' });
      lastReport = now;
      try {
        await on().onPartyContractPage(sessionId, parsed.data.page);
        reply({ ok: true });
      } catch (error) {
        replyWithError(reply, error, 'contract:viewing');
      }
    });
    await socket.join(`party:${sessionId}`);
    try {
      await on().onPartyConnected(sessionId);
    } catch (error) {
      options.log.warn({ err: error }, 'could not greet a party socket');
    }
  });

  /** A refused event says why in the problem code (FORBIDDEN, NOT_FOUND, …); anything else is INTERNAL. */
  const replyWithError = (reply: Ack, error: unknown, event: string) => {
    if (error instanceof AppError) return reply({ ok: false, code: error.code, message: error.message });
    options.log.warn({ event, err: error }, 'socket event failed');
    reply({ ok: false, code: 'INTERNAL', message: 'could not handle the event' });
  };

  // socket.io cannot tie a generic event name to its payload type; RealtimeEmitter's signatures do.
  const broadcast = (operator: { emit(event: string, payload: unknown): boolean }) => operator;
  const emitter: RealtimeEmitter = {
    toAgent: (userId, event, payload) => void broadcast(agents.to(`agent:${userId}`)).emit(event, payload),
    toSupervisors: (event, payload) => void broadcast(agents.to('supervisors')).emit(event, payload),
    toSessionWatchers: (sessionId, event, payload, options) => {
      const rooms = [`session:${sessionId}`];
      if (options?.andAgent) rooms.push(`agent:${options.andAgent}`);
      if (options?.andSupervisors) rooms.push('supervisors');
      broadcast(agents.to(rooms)).emit(event, payload);
    },
    toParty: (sessionId, event, payload) => void broadcast(parties.to(`party:${sessionId}`)).emit(event, payload),
  };

  const connections: ConsoleConnections = {
    endLoginSessions: (loginSessionIds) => {
      if (loginSessionIds.length > 0) agents.in(loginSessionIds.map((id) => `login:${id}`)).disconnectSockets(true);
    },
    endUserConnections: (userId) => agents.in(`agent:${userId}`).disconnectSockets(true),
  };

  return {
    io,
    emitter,
    connections,
    isConnected: async (userId) => (await agents.in(`agent:${userId}`).fetchSockets()).length > 0,
    attach: (httpServer, socketHandlers) => {
      handlers = socketHandlers;
      io.attach(httpServer);
    },
    disconnectAll: () => {
      // Every namespace's connections (io.disconnectSockets reaches only the main one).
      io.engine.close();
    },
    close: async () => {
      closing = true;
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => void io.close(() => resolve()));
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
