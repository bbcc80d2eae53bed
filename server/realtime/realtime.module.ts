// The consoles' and borrowers' sockets. Built before the features (they emit through it); what the
// sockets' events do is handed to attach() once every feature is composed.
import type { Infrastructure } from '../infrastructure.js';
import type { AuthService } from '../auth/auth.service.js';
import { createRealtime, type Realtime } from './realtime.server.js';

export function realtimeModule({ config, log, presence, events }: Infrastructure, auth: AuthService): Realtime {
  const realtime = createRealtime({
    redisUrl: config.redis.url,
    prefix: config.redis.prefix,
    allowedOrigins: config.http.allowedOrigins,
    log,
    auth,
    presence,
    departureGraceMs: config.verification.agentDisconnectGraceMs,
  });
  // A logout ends that login's sockets on every node.
  events.subscribeCommitted('login-sessions.ended', async ({ loginSessionIds }) => realtime.connections.endLoginSessions(loginSessionIds));
  return realtime;
}
