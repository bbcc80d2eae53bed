// Scheduling as the console does it: a time outside the party's calling hours is refused at scheduling
// (422 naming the field, with the party's local window), a party whose language no agent speaks is flagged,
// supervisors schedule, reschedule and cancel (audited) while agents and auditors cannot.
// Real app, Postgres, Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BorrowerLinks, issueLink } from '../../server/auth/borrower-links.service.js';
import type { ApiClient } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { auditEventsOf, partySessions, sessionOf } from '../support/reads.js';
import { loanFileWithBorrower, losClient } from '../support/verification.js';

interface Problem {
  code: string;
  errors?: { field: string; message: string }[];
  callingHours?: { timeZone: string; start: string; end: string; days: number[]; requestedLocal: string };
}

let t: TestApp;
let los: ApiClient;
let supervisor: ApiClient;

beforeAll(async () => {
  t = await startTestApp({ CALLING_HOURS: '09:00-20:00', CALLING_DAYS: 'MON,TUE,WED,THU,FRI,SAT,SUN' });
  los = await losClient(t);
  supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
});
afterAll(async () => {
  await t?.stop();
});

/** The instant a Shanghai (UTC+8, no DST) clock reads hh:mm, `days` days from now. */
function shanghai(days: number, hh: number, mm: number): Date {
  const local = new Date(Date.now() + 8 * 3600_000 + days * 86_400_000);
  return new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), hh, mm) - 8 * 3600_000);
}

function localReading(at: Date): string {
  return new Date(at.getTime() + 8 * 3600_000).toISOString().slice(0, 16);
}

let phones = 0;
const borrower = (locale: 'zh-CN' | 'en' = 'zh-CN') => loanFileWithBorrower(los, { phone: `+86139000021${String(phones++).padStart(2, '0')}`, product: 'console-scheduling', locale });

describe('times outside the party\'s calling hours are refused at scheduling', () => {
  it('refuses a Shanghai video appointment at 07:46 local time with the field and the party\'s window, and schedules nothing', async () => {
    const { loanFileId, partyId } = await borrower();
    const at = shanghai(1, 7, 46);
    const res = await los.post<Problem>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: at.toISOString() });
    expect(res.status).toBe(422);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.code).toBe('OUTSIDE_CALLING_HOURS');
    expect(res.body.errors?.map((e) => e.field)).toEqual(['notBefore']);
    expect(res.body.errors?.[0]?.message).toContain('09:00-20:00');
    expect(res.body.callingHours).toEqual({ timeZone: 'Asia/Shanghai', start: '09:00', end: '20:00', days: [0, 1, 2, 3, 4, 5, 6], requestedLocal: localReading(at) });
    expect(res.body.callingHours?.requestedLocal).toMatch(/T07:46$/);
    expect(await partySessions(los, loanFileId, partyId)).toEqual([]);
    expect((await t.facesign.queues.queue('session-reminder').getDelayed()).length + (await t.facesign.queues.queue('session-reminder').getWaiting()).length).toBe(0);
  });

  it('refuses a call asked for at a set time outside the window, and still moves an "as soon as possible" call into it', async () => {
    const { loanFileId, partyId } = await borrower();
    const late = await los.post<Problem>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'CALL', notBefore: shanghai(1, 20, 0).toISOString() });
    expect(late.status).toBe(422);
    expect(late.body.code).toBe('OUTSIDE_CALLING_HOURS');
    expect(late.body.callingHours?.requestedLocal).toMatch(/T20:00$/);
    const inside = await los.post<{ notBefore: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'CALL', notBefore: shanghai(1, 19, 59).toISOString() });
    expect(inside.status).toBe(201);
    expect(inside.body.notBefore).toBe(shanghai(1, 19, 59).toISOString());
  });

  it('refuses rescheduling a video appointment to 21:30 local time and leaves it where it was', async () => {
    const { loanFileId, partyId } = await borrower();
    const at = shanghai(1, 10, 0);
    const booked = await supervisor.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: at.toISOString() });
    expect(booked.status).toBe(201);
    const moved = await supervisor.post<Problem>(`/api/sessions/${booked.body.id}/reschedule`, { notBefore: shanghai(1, 21, 30).toISOString() });
    expect(moved.status).toBe(422);
    expect(moved.body.errors?.map((e) => e.field)).toEqual(['notBefore']);
    expect(moved.body.callingHours).toMatchObject({ timeZone: 'Asia/Shanghai', start: '09:00', end: '20:00' });
    expect(new Date((await sessionOf(los, booked.body.id)).notBefore).toISOString()).toBe(at.toISOString());
    const later = await supervisor.post<{ notBefore: string }>(`/api/sessions/${booked.body.id}/reschedule`, { notBefore: shanghai(2, 11, 15).toISOString() });
    expect(later.status).toBe(200);
    expect(later.body.notBefore).toBe(shanghai(2, 11, 15).toISOString());
  });

  it('refuses the party picking 21:30 on their own clock from the join page, with the window, and lets them pick 11:15', async () => {
    const { loanFileId, partyId } = await borrower();
    const at = shanghai(1, 10, 0);
    const booked = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: at.toISOString() });
    expect(booked.status).toBe(201);
    // The party's link and the token its one-time code would give (the code itself is tested in video-flow).
    const token = await t.facesign.db.$transaction((tx) => issueLink(tx, booked.body.id, 86_400_000));
    const links = new BorrowerLinks(t.facesign.db, t.facesign.config.verification.otp);
    const partyToken = await links.issuePartyToken((await links.resolve(token)).link);
    const party = t.client();
    const night = shanghai(1, 21, 30);
    const refused = await party.post<Problem>(`/api/join/${token}/reschedule`, { notBefore: night.toISOString() }, { 'x-party-token': partyToken });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('OUTSIDE_CALLING_HOURS');
    expect(refused.body.errors?.map((e) => e.field)).toEqual(['notBefore']);
    expect(refused.body.callingHours).toEqual({ timeZone: 'Asia/Shanghai', start: '09:00', end: '20:00', days: [0, 1, 2, 3, 4, 5, 6], requestedLocal: localReading(night) });
    expect(new Date((await sessionOf(los, booked.body.id)).notBefore).toISOString()).toBe(at.toISOString());
    const inside = await party.post<{ appointmentAt: string }>(`/api/join/${token}/reschedule`, { notBefore: shanghai(2, 11, 15).toISOString() }, { 'x-party-token': partyToken });
    expect(inside.status).toBe(200);
    expect(inside.body.appointmentAt).toBe(shanghai(2, 11, 15).toISOString());
  });
});

describe('language coverage', () => {
  it('flags a session no active agent can take for the party\'s language, and not once an agent speaks it', async () => {
    const english = await borrower('en');
    await t.signIn({ roles: ['AGENT'], languages: ['zh-CN'], skills: ['console-scheduling'] });
    const flagged = await supervisor.post<{ warnings: string[] }>(`/api/loan-files/${english.loanFileId}/sessions`, { partyId: english.partyId, kind: 'VIDEO', notBefore: shanghai(1, 10, 0).toISOString() });
    expect(flagged.status).toBe(201);
    expect(flagged.body.warnings).toEqual(['NO_AGENT_FOR_LANGUAGE']);

    const chinese = await borrower('zh-CN');
    const covered = await supervisor.post<{ warnings: string[] }>(`/api/loan-files/${chinese.loanFileId}/sessions`, { partyId: chinese.partyId, kind: 'VIDEO', notBefore: shanghai(1, 10, 0).toISOString() });
    expect(covered.status).toBe(201);
    expect(covered.body.warnings).toEqual([]);
  });
});

describe('who schedules, reschedules and cancels', () => {
  it('lets supervisors and refuses agents and auditors', async () => {
    const { loanFileId, partyId } = await borrower();
    const agent = await t.signIn({ roles: ['AGENT'] });
    const auditor = await t.signIn({ roles: ['AUDITOR'] });
    const body = { partyId, kind: 'VIDEO', notBefore: shanghai(1, 10, 0).toISOString() };
    for (const other of [agent, auditor]) {
      expect((await other.post(`/api/loan-files/${loanFileId}/sessions`, body)).status).toBe(403);
    }
    const booked = await supervisor.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, body);
    expect(booked.status).toBe(201);
    for (const other of [agent, auditor]) {
      expect((await other.post(`/api/sessions/${booked.body.id}/reschedule`, { notBefore: shanghai(1, 11, 0).toISOString() })).status).toBe(403);
      expect((await other.post(`/api/sessions/${booked.body.id}/cancel`, { reason: 'not mine' })).status).toBe(403);
    }
    expect((await sessionOf(los, booked.body.id)).state).toBe('SCHEDULED');
  });

  it('cancels with a reason, audited with the supervisor as the actor', async () => {
    const { loanFileId, partyId } = await borrower();
    const me = (await supervisor.get<{ id: string }>('/api/auth/me')).body.id;
    const booked = await supervisor.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: shanghai(1, 10, 0).toISOString() });
    const noReason = await supervisor.post<Problem>(`/api/sessions/${booked.body.id}/cancel`, { reason: '  ' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors?.map((e) => e.field)).toEqual(['reason']);
    const cancelled = await supervisor.post<{ state: string }>(`/api/sessions/${booked.body.id}/cancel`, { reason: 'Borrower asked to come to the branch' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('CANCELLED');
    const audit = (await auditEventsOf(supervisor, booked.body.id)).filter((e) => e.entityId === booked.body.id && e.action === 'session.transitioned').at(-1);
    expect(audit?.actorType).toBe('USER');
    expect(audit?.actorId).toBe(me);
    expect(audit?.data).toMatchObject({ to: 'CANCELLED', event: 'CANCELLED', detail: 'Borrower asked to come to the branch' });
  });
});
