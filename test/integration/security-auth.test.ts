// Findings of the independent security test, each pinned by the behaviour an attacker observed:
// M2 one-time-code tries that reset on every resend, M4 a login lockout that locked anyone out and
// told known accounts from unknown ones, M5 console sockets that outlived logout, revocation,
// deactivation and role changes (checked across two facesign nodes on one Redis), and L2 a desk route
// that answered 403 for another agent's session but 404 for an unknown one.
import { createHash, randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueLink } from '../../server/auth/borrower-links.service.js';
import type { Facesign } from '../../server/main.js';
import { createUser } from '../../server/users/users.service.js';
import type { ApiClient, ApiResponse } from '../support/api-client.js';
import { connectAgent, type AgentSocket } from '../support/agent-socket.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startSecondNode, startTestApp, type TestApp } from '../support/harness.js';
import { HttpSink } from '../support/http-sink.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient } from '../support/verification.js';
import { auditLogOf } from '../support/reads.js';

const BACKOFF_SECONDS = 3;
const PASSWORD = 'the-right-password';

let t: TestApp;
let sms: HttpSink;
let los: ApiClient;
let admin: ApiClient;

beforeAll(async () => {
  sms = await HttpSink.start();
  t = await startTestApp({
    ...ALWAYS_OPEN,
    NOTIFIER: 'http',
    NOTIFIER_URL: `${sms.url}/sms`,
    LOGIN_MAX_FAILURES: '5',
    LOGIN_BACKOFF_SECONDS: String(BACKOFF_SECONDS),
    LOGIN_CLIENT_MAX_FAILURES: '8',
    LOGIN_RATE_PER_MINUTE: '1000',
  });
  los = await losClient(t);
  admin = await t.signIn({ roles: ['ADMIN'] });
}, 120_000);
afterAll(async () => {
  await t?.stop();
  await sms?.stop();
});

type Problem = { code?: string; status?: number; title?: string; detail?: string; type?: string };

/** Every request from its own documentation address (RFC 5737), unless a test names one. */
let addresses = 0;
const freshAddress = () => {
  addresses += 1;
  return `198.51.${Math.floor(addresses / 250)}.${(addresses % 250) + 1}`;
};
const login = (email: string, password: string, address = freshAddress()) =>
  t.client().request<Problem>('POST', '/api/auth/login', { email, password }, { 'x-forwarded-for': address });
/** What a client can compare between two answers: everything but the request id. */
const visible = (res: ApiResponse<Problem>) => ({
  status: res.status,
  body: { type: res.body.type, title: res.body.title, status: res.body.status, code: res.body.code, detail: res.body.detail },
  retryAfter: res.headers.get('retry-after') !== null,
});
const userNamed = async (email: string, roles: ('AGENT' | 'SUPERVISOR' | 'AUDITOR' | 'ADMIN')[] = ['AGENT']) => createUser(t.facesign.db, { email, displayName: email, password: PASSWORD, roles });

// ---- M2: one-time codes ------------------------------------------------------------------------------

describe('M2: the one-time-code limit holds across resends', () => {
  const codesTo = (phone: string) =>
    sms.received.map((r) => JSON.parse(r.body) as { to: string; template: string; text: string }).filter((m) => m.to === phone && m.template === 'otp').map((m) => /(\d{6})/.exec(m.text)![1]!);
  const wrongFor = (code: string) => (code === '111111' ? '222222' : '111111');

  async function videoLink(phone: string) {
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product: 'sec-otp' });
    const session = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date(Date.now() + 86_400_000).toISOString() });
    expect(session.status).toBe(201);
    // fixture: the link the invitation SMS will carry once the session comes due
    const token = await t.facesign.db.$transaction((tx) => issueLink(tx, session.body.id, 86_400_000));
    return { token, tokenHash: createHash('sha256').update(token).digest('hex') };
  }
  /** The resend rule allows a new code 30 s after the last one: let those 30 s pass. */
  const thirtySecondsPass = (tokenHash: string) =>
    t.facesign.db.$executeRaw`UPDATE "BorrowerLink" SET "otpSentAt" = "otpSentAt" - interval '31 seconds' WHERE "tokenHash" = ${tokenHash}`;

  it('counts wrong codes per link, not per code: the fifth wrong one overall locks the link, even after resends', async () => {
    const phone = '+8613900002001';
    const { token, tokenHash } = await videoLink(phone);
    const party = t.client();
    const verify = (code: string) => party.post<Problem>(`/api/join/${token}/otp/verify`, { code });

    expect((await party.post(`/api/join/${token}/otp`, { purpose: 'join' })).status).toBe(202);
    const first = await eventually(async () => codesTo(phone)[0]);
    const answers: (string | undefined)[] = [];
    for (let i = 0; i < 4; i += 1) answers.push((await verify(wrongFor(first))).body.code);
    expect(answers).toEqual(['OTP_INVALID', 'OTP_INVALID', 'OTP_INVALID', 'OTP_INVALID']);

    await thirtySecondsPass(tokenHash);
    expect((await party.post(`/api/join/${token}/otp`, { purpose: 'join' })).status).toBe(202);
    const second = await eventually(async () => codesTo(phone)[1]);
    // The page tells the truth about what is left: one try, not a fresh five.
    const overview = await party.get<{ otp: { join: { pending: boolean; triesLeft: number } } }>(`/api/join/${token}`);
    expect(overview.body.otp.join).toMatchObject({ pending: true, triesLeft: 1 });

    const fifth = await verify(wrongFor(second));
    expect(fifth.status).toBe(423);
    expect(fifth.body.code).toBe('OTP_LOCKED');
    expect(Number(fifth.headers.get('retry-after'))).toBeGreaterThan(0);
    // Locked means locked: the right code of the current send, and a new send, are refused.
    expect((await verify(second)).body.code).toBe('OTP_LOCKED');
    await thirtySecondsPass(tokenHash);
    expect((await party.post<Problem>(`/api/join/${token}/otp`, { purpose: 'join' })).body.code).toBe('OTP_LOCKED');
    expect(codesTo(phone)).toHaveLength(2);
    // storage: the stored count and that no party token was ever stored; the page shows only "0 tries left"
    const link = await t.facesign.db.borrowerLink.findUniqueOrThrow({ where: { tokenHash } });
    expect(link.otpAttempts).toBe(5);
    expect(link.otpLockedUntil!.getTime()).toBeGreaterThan(Date.now());
    expect(link.partyTokenHash).toBeNull();
  });

  it('a right code clears the count; once a lock has run out, a new code brings five fresh tries', async () => {
    const phone = '+8613900002002';
    const { token, tokenHash } = await videoLink(phone);
    const party = t.client();
    const verify = (code: string) => party.post<Problem>(`/api/join/${token}/otp/verify`, { code });

    await party.post(`/api/join/${token}/otp`, { purpose: 'join' });
    const first = await eventually(async () => codesTo(phone)[0]);
    for (let i = 0; i < 5; i += 1) await verify(wrongFor(first));
    expect((await verify(first)).body.code).toBe('OTP_LOCKED');

    // The lock (OTP_LOCK_MINUTES) runs out.
    await t.facesign.db.borrowerLink.update({ where: { tokenHash }, data: { otpLockedUntil: new Date(Date.now() - 1000), otpSentAt: new Date(Date.now() - 60_000) } });
    expect((await party.post(`/api/join/${token}/otp`, { purpose: 'join' })).status).toBe(202);
    const second = await eventually(async () => codesTo(phone)[1]);
    expect((await party.get<{ otp: { join: { triesLeft: number; lockedUntil: string | null } } }>(`/api/join/${token}`)).body.otp.join).toMatchObject({ triesLeft: 5, lockedUntil: null });
    expect((await verify(wrongFor(second))).body.code).toBe('OTP_INVALID');
    const verified = await verify(second);
    expect(verified.status).toBe(200);
    // storage: the stored count is cleared, which the page no longer shows once the code is used
    expect((await t.facesign.db.borrowerLink.findUniqueOrThrow({ where: { tokenHash } })).otpAttempts).toBe(0);
  });
});

// ---- M4: password guessing ------------------------------------------------------------------------------

describe('M4: login throttling without a lockout anyone can trigger, and without an account oracle', () => {
  it('answers an unknown address exactly as a known one, before and after the account is held back', async () => {
    await userNamed('known@bank.test');
    const known: ApiResponse<Problem>[] = [];
    const unknown: ApiResponse<Problem>[] = [];
    for (let i = 0; i < 6; i += 1) {
      known.push(await login('known@bank.test', `guess-${i}`));
      unknown.push(await login('nobody-here@bank.test', `guess-${i}`));
    }
    expect(known.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 423]);
    expect(unknown.map(visible)).toEqual(known.map(visible));
    expect(known[5]!.body.code).toBe('ACCOUNT_LOCKED');
  });

  it('holds an account back after five failures from anywhere, but its owner still signs in from a client they used before', async () => {
    const owner = await userNamed('owner@bank.test');
    const home = freshAddress();
    expect((await login('owner@bank.test', PASSWORD, home)).status).toBe(200);

    // Guesses spread over five addresses: none of them is throttled as a client.
    for (let i = 0; i < 5; i += 1) expect((await login('owner@bank.test', `guess-${i}`)).status).toBe(401);
    const stranger = await login('owner@bank.test', PASSWORD);
    expect(stranger.status).toBe(423);
    expect(stranger.body.code).toBe('ACCOUNT_LOCKED');

    const fromHome = await login('owner@bank.test', PASSWORD, home);
    expect(fromHome.status).toBe(200);
    // The owner's success does not lift the hold for everybody else.
    expect((await login('owner@bank.test', PASSWORD)).status).toBe(423);

    // The familiar client is no way around the limit either: it has five tries of its own.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await login('owner@bank.test', `home-guess-${i}`, home)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 423]);

    const failures = await auditLogOf(admin, { entityType: 'user', entityId: owner.id, action: 'auth.login_failed' });
    expect(failures.map((e) => e.data)).toContainEqual({ failedCount: 5, locked: true });
  });

  it('backs off instead of locking: the wait starts short and doubles with each further failure', async () => {
    await userNamed('backoff@bank.test');
    for (let i = 0; i < 5; i += 1) expect((await login('backoff@bank.test', `guess-${i}`)).status).toBe(401);
    const held = await login('backoff@bank.test', PASSWORD);
    expect(held.status).toBe(423);
    expect(Number(held.headers.get('retry-after'))).toBe(BACKOFF_SECONDS);

    await new Promise((r) => setTimeout(r, BACKOFF_SECONDS * 1000 + 200));
    expect((await login('backoff@bank.test', 'guess-5')).status).toBe(401);
    const longer = await login('backoff@bank.test', PASSWORD);
    expect(longer.status).toBe(423);
    expect(Number(longer.headers.get('retry-after'))).toBe(2 * BACKOFF_SECONDS);
  });

  it('backs off a client that fails on many accounts, whichever accounts they are; other clients are unaffected', async () => {
    await userNamed('sprayed@bank.test');
    const sprayer = freshAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) statuses.push((await login(`spray-${i}@bank.test`, 'Winter2026!', sprayer)).status);
    expect(statuses).toEqual(Array(8).fill(401));
    const next = await login('sprayed@bank.test', PASSWORD, sprayer);
    expect(next.status).toBe(429);
    expect(next.body.code).toBe('RATE_LIMITED');
    expect(Number(next.headers.get('retry-after'))).toBe(BACKOFF_SECONDS);
    expect((await login('sprayed@bank.test', PASSWORD)).status).toBe(200);
  });

  it('an administrator lifts the hold on an account, audited; nobody else can', async () => {
    const victim = await userNamed('held@bank.test', ['SUPERVISOR']);
    for (let i = 0; i < 5; i += 1) await login('held@bank.test', `guess-${i}`);
    expect((await login('held@bank.test', PASSWORD)).status).toBe(423);

    const agent = await t.signIn({ roles: ['AGENT'] });
    const refused = await agent.post<Problem>(`/api/users/${victim.id}/unlock`);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');
    expect((await admin.post<Problem>(`/api/users/${randomUUID()}/unlock`)).body.code).toBe('NOT_FOUND');

    expect((await admin.post(`/api/users/${victim.id}/unlock`)).status).toBe(204);
    expect((await login('held@bank.test', PASSWORD)).status).toBe(200);
    const adminId = (await admin.get<{ id: string }>('/api/auth/me')).body.id;
    const unlocked = await auditLogOf(admin, { entityType: 'user', entityId: victim.id, action: 'user.unlocked' });
    expect(unlocked).toHaveLength(1);
    expect(unlocked[0]).toMatchObject({ actorType: 'USER', actorId: adminId });
  });
});

// ---- M5: sockets after logout, revocation, deactivation and role changes ----------------------------------

describe('M5: a console socket ends with the credential behind it, on every node', () => {
  let nodeB: Facesign;
  let urlB: string;

  beforeAll(async () => {
    // A second facesign node on the same database and Redis: the sockets below connect to it, while the
    // logouts and changes go through the first.
    ({ node: nodeB, url: urlB } = await startSecondNode(t));
  });
  afterAll(async () => nodeB?.stop());

  /** Resolves with the reason the socket was disconnected, or 'still connected' after `ms`. */
  const endedWithin = (socket: AgentSocket, ms = 5_000) =>
    new Promise<string>((resolve) => {
      if (!socket.socket.connected) return resolve('already disconnected');
      const timer = setTimeout(() => resolve('still connected'), ms);
      socket.socket.once('disconnect', (reason) => {
        clearTimeout(timer);
        resolve(reason);
      });
    });
  const connectError = (url: string, client: ApiClient) =>
    new Promise<string>((resolve) => {
      const socket = io(`${url}/agent`, { transports: ['websocket'], extraHeaders: { cookie: client.cookieHeader() }, reconnection: false, forceNew: true });
      socket.once('connect', () => {
        socket.close();
        resolve('connected');
      });
      socket.once('connect_error', (err: Error & { data?: { code?: string } }) => resolve(err.data?.code ?? err.message));
    });
  const socketsOf = async (userId: string) => (await nodeB.realtime.io.of('/agent').in(`agent:${userId}`).fetchSockets()).length;
  const idOf = async (client: ApiClient) => (await client.get<{ id: string }>('/api/auth/me')).body.id;

  it('logout on one node disconnects that login session\'s socket on the other; presence and checklist events stop', async () => {
    const agent = await t.signIn({ roles: ['AGENT'] });
    const userId = await idOf(agent);
    const socket = await connectAgent(urlB, agent);
    try {
      expect(await socket.emit('presence:set', { presence: 'available' })).toEqual({ ok: true });
      const sessionId = randomUUID();
      t.facesign.realtime.emitter.toAgent(userId, 'checklist:changed', { v: 1, sessionId, itemId: 'before', revision: 1 });
      await socket.next('checklist:changed', (p) => p.itemId === 'before');

      const ended = endedWithin(socket);
      expect((await agent.post('/api/auth/logout')).status).toBe(204);
      expect(await ended).toBe('io server disconnect');
      expect(await socketsOf(userId)).toBe(0);
      t.facesign.realtime.emitter.toAgent(userId, 'checklist:changed', { v: 1, sessionId, itemId: 'after', revision: 2 });
      await new Promise((r) => setTimeout(r, 200));
      expect(socket.events.filter((e) => e.event === 'checklist:changed').map((e) => e.payload.itemId)).toEqual(['before']);
      // Going away takes the agent off the routing board rather than leaving them available.
      await eventually(async () => (await t.facesign.verification.presence.get(userId)) === 'away');
    } finally {
      socket.close();
    }
  });

  it('revoking one login session ends only its sockets; the same user\'s other session stays live', async () => {
    const email = `two-desks-${randomUUID().slice(0, 6)}@bank.test`;
    await userNamed(email, ['AGENT']);
    const laptop = t.client();
    const phone = t.client();
    await laptop.login(email, PASSWORD);
    await phone.login(email, PASSWORD);
    const laptopSocket = await connectAgent(urlB, laptop);
    const phoneSocket = await connectAgent(urlB, phone);
    try {
      const sessions = await laptop.get<{ items: { id: string; current: boolean }[] }>('/api/auth/sessions');
      const phoneSession = sessions.body.items.find((s) => !s.current)!;
      const phoneEnded = endedWithin(phoneSocket);
      expect((await laptop.delete(`/api/auth/sessions/${phoneSession.id}`)).status).toBe(204);
      expect(await phoneEnded).toBe('io server disconnect');
      expect(laptopSocket.socket.connected).toBe(true);
      expect(await laptopSocket.emit('heartbeat', {})).toMatchObject({ ok: true });
      expect(await connectError(urlB, phone)).toBe('UNAUTHENTICATED');
    } finally {
      laptopSocket.close();
      phoneSocket.close();
    }
  });

  it('deactivating a user revokes their sessions and disconnects every socket of theirs, audited', async () => {
    const agent = await t.signIn({ roles: ['AGENT'] });
    const userId = await idOf(agent);
    const socket = await connectAgent(urlB, agent);
    try {
      const ended = endedWithin(socket);
      const res = await admin.patch<{ disabled: boolean; roles: string[] }>(`/api/users/${userId}`, { disabled: true });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ disabled: true, roles: ['AGENT'] });
      expect(await ended).toBe('io server disconnect');
      expect((await agent.get('/api/auth/me')).status).toBe(401);
      expect(await connectError(urlB, agent)).toBe('UNAUTHENTICATED');
      // storage: every login session of theirs is revoked, not only this client's; nobody else can list them
      expect(await t.facesign.db.loginSession.count({ where: { userId, revokedAt: null } })).toBe(0);
      const audit = await auditLogOf(admin, { entityType: 'user', entityId: userId, action: 'user.disabled' });
      expect(audit).toHaveLength(1);
      expect(audit[0]!.data).toEqual({ revokedSessions: 1 });
    } finally {
      socket.close();
    }
  });

  it('a role change re-checks the socket: losing every console role refuses it, losing supervision drops the supervisor feed', async () => {
    const staffer = await t.signIn({ roles: ['AGENT', 'SUPERVISOR'] });
    const userId = await idOf(staffer);
    const first = await connectAgent(urlB, staffer);
    let second: AgentSocket | undefined;
    try {
      const ended = endedWithin(first);
      expect((await admin.patch(`/api/users/${userId}`, { roles: ['AGENT'] })).status).toBe(200);
      expect(await ended).toBe('io server disconnect');
      // The console reconnects: the handshake reads the roles afresh.
      second = await connectAgent(urlB, staffer);
      t.facesign.realtime.emitter.toSupervisors('alert', { v: 1, kind: 'supervisors-only', message: 'x' });
      t.facesign.realtime.emitter.toAgent(userId, 'alert', { v: 1, kind: 'for-the-agent', message: 'y' });
      await second.next('alert', (p) => p.kind === 'for-the-agent');
      expect(second.events.map((e) => e.payload.kind)).toEqual(['for-the-agent']);

      const endedAgain = endedWithin(second);
      expect((await admin.patch(`/api/users/${userId}`, { roles: ['AUDITOR'] })).status).toBe(200);
      expect(await endedAgain).toBe('io server disconnect');
      expect(await connectError(urlB, staffer)).toBe('FORBIDDEN');
      const audit = await auditLogOf(admin, { entityType: 'user', entityId: userId, action: 'user.roles_changed' });
      expect(audit.map((e) => e.data)).toEqual([
        { from: ['AGENT', 'SUPERVISOR'], to: ['AGENT'] },
        { from: ['AGENT'], to: ['AUDITOR'] },
      ]);
    } finally {
      first.close();
      second?.close();
    }
  });

  it('a socket whose session ran out is refused at its next event and disconnected', async () => {
    const agent = await t.signIn({ roles: ['AGENT'] });
    const userId = await idOf(agent);
    const socket = await connectAgent(urlB, agent);
    try {
      expect(await socket.emit('heartbeat', {})).toMatchObject({ ok: true });
      // The session's lifetime (SESSION_TTL_HOURS) passes while the console stays open (fixture: time passes).
      await t.facesign.db.loginSession.updateMany({ where: { userId }, data: { expiresAt: new Date(Date.now() - 1000) } });
      const ended = endedWithin(socket);
      expect(await socket.emit('presence:set', { presence: 'available' })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
      expect(await ended).toBe('io server disconnect');
      expect(await t.facesign.verification.presence.get(userId)).not.toBe('available');
    } finally {
      socket.close();
    }
  });
});

// ---- L2: existence oracle ------------------------------------------------------------------------------

describe('L2: another agent\'s session is as invisible as one that does not exist', () => {
  it('GET /api/agent/sessions/:id answers 404, with the same problem, for both', async () => {
    const owner = await t.signIn({ roles: ['AGENT'] });
    const { session } = await createAttempt(t.facesign.db, { kind: 'CALL' });
    // fixture: the session is the owner's, as taking its offer would make it
    await t.facesign.db.verificationSession.update({ where: { id: session.id }, data: { assignedAgentId: (await owner.get<{ id: string }>('/api/auth/me')).body.id } });
    expect((await owner.get(`/api/agent/sessions/${session.id}`)).status).toBe(200);

    const other = await t.signIn({ roles: ['AGENT'] });
    const theirs = await other.get<Problem>(`/api/agent/sessions/${session.id}`);
    const missing = await other.get<Problem>(`/api/agent/sessions/${randomUUID()}`);
    expect(theirs.status).toBe(404);
    expect(visible(theirs)).toEqual(visible(missing));
    expect(theirs.body.code).toBe('NOT_FOUND');
    // Supervisors still see it.
    expect((await (await t.signIn({ roles: ['SUPERVISOR'] })).get(`/api/agent/sessions/${session.id}`)).status).toBe(200);
  });
});
