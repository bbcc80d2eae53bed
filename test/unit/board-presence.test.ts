import { describe, expect, it } from 'vitest';
import { boardPresence, type BoardPresence } from '../../server/supervision/supervision.service.js';
import type { PresenceRecord } from '../../server/realtime/presence.js';

const NOW = new Date('2026-12-05T08:00:00Z');
const GRACE = 20_000;
const chose = (chosen: PresenceRecord['chosen'], more: Partial<PresenceRecord> = {}): PresenceRecord => ({ chosen, alive: true, goneSince: undefined, ...more });
const goneAgo = (ms: number) => NOW.getTime() - ms;

describe('boardPresence', () => {
  it.each<[string, { connected: boolean; record: PresenceRecord | undefined; inSession: boolean; offered: boolean }, BoardPresence]>([
    ['connected, chose available', { connected: true, record: chose('available'), inSession: false, offered: false }, 'available'],
    ['connected, chose busy', { connected: true, record: chose('busy'), inSession: false, offered: false }, 'busy'],
    ['connected, chose away', { connected: true, record: chose('away'), inSession: false, offered: false }, 'away'],
    ['connected, never chose', { connected: true, record: undefined, inSession: false, offered: false }, 'away'],
    ['connected, heartbeat lapsed', { connected: true, record: chose('available', { alive: false }), inSession: false, offered: false }, 'away'],
    ['available but in a call', { connected: true, record: chose('available'), inSession: true, offered: false }, 'in_session'],
    ['away but still in a call', { connected: true, record: chose('away'), inSession: true, offered: false }, 'in_session'],
    ['available with an offer pending', { connected: true, record: chose('available'), inSession: false, offered: true }, 'offered'],
    ['in a session and offered (a reassignment)', { connected: true, record: chose('available'), inSession: true, offered: true }, 'in_session'],
    ['no console, never seen', { connected: false, record: undefined, inSession: false, offered: false }, 'offline'],
    ['no console, no gone mark (a node crashed)', { connected: false, record: chose('available'), inSession: true, offered: false }, 'offline'],
    ['reloading, within the grace period', { connected: false, record: chose('available', { goneSince: goneAgo(3_000) }), inSession: false, offered: false }, 'available'],
    ['reloading mid-call, within the grace period', { connected: false, record: chose('available', { goneSince: goneAgo(3_000) }), inSession: true, offered: false }, 'in_session'],
    ['gone past the grace period, mid-call', { connected: false, record: chose('available', { goneSince: goneAgo(GRACE) }), inSession: true, offered: false }, 'offline'],
    ['gone mark left behind but a console is connected', { connected: true, record: chose('busy', { goneSince: goneAgo(60_000) }), inSession: false, offered: false }, 'busy'],
  ])('%s', (_, agent, expected) => {
    expect(boardPresence(agent, GRACE, NOW)).toBe(expected);
  });
});
