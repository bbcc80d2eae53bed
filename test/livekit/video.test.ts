// Video face-signing against the real livekit-server, in Chromium: the borrower's join page and the
// agent's desk join the room facesign made, with fake camera and microphone and the real
// livekit-client, and each receives the other's audio and video over WebRTC. LiveKit's own signed
// webhooks drive facesign's view of who is in the room through reloads on both sides (one whose old
// session never said goodbye) and a spell of lost webhooks, which the reconciler repairs from
// ListParticipants; completing the session ends the room.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { RoomServiceClient } from 'livekit-server-sdk';
import { agentIdentity, partyIdentity, roomNameFor } from '../../server/livekit/identities.js';
import { isPresent } from '../../server/livekit/participants.js';
import { createUser } from '../../server/users/users.service.js';
import type { ApiClient } from '../support/api-client.js';
import type { TestApp } from '../support/harness.js';
import { HttpSink } from '../support/http-sink.js';
import { answersOf, attemptOf, verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, losClient, stateOf } from '../support/verification.js';
import { Borrowers, codeIn, poll, visible } from '../e2e/borrower.js';
import { acceptOffer, availableDesk, inboundMedia, keepPeerConnections, launchChromium, mediaElementsIn, screenshot, startE2eApp, watchPageErrors } from '../e2e/browser.js';

let app: TestApp;
let browser: Browser;
let los: ApiClient;
let agentUserId: string;
let sms: HttpSink;
let borrowers: Borrowers;
const PASSWORD = 'correct horse battery staple';
const AGENT = 'gao.agent@bank.test';

beforeAll(async () => {
  sms = await HttpSink.start();
  // The reconciler's schedule is an hour: here it runs when the test says, to show what it alone repairs.
  app = await startE2eApp({ ...ALWAYS_OPEN, NOTIFIER: 'http', NOTIFIER_URL: `${sms.url}/sms`, RECONCILE_INTERVAL_SECONDS: '3600' }, { livekit: 'real' });
  browser = await launchChromium();
  los = await losClient(app);
  borrowers = new Borrowers({ app, los, sms, browser });
  agentUserId = (await createUser(app.facesign.db, { email: AGENT, password: PASSWORD, displayName: 'Gao Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: ['real-video'] })).id;
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await sms?.stop();
});

/** Audio bytes, video bytes and decoded frames all grow between two looks: media is arriving now. */
async function mediaArriving(page: Page): Promise<void> {
  const before = await inboundMedia(page);
  await poll(async () => {
    const now = await inboundMedia(page);
    return { audio: now.audio.bytes > before.audio.bytes, video: now.video.bytes > before.video.bytes, frames: now.video.framesDecoded > before.video.framesDecoded };
  }).toEqual({ audio: true, video: true, frames: true });
}

/** The remote media elements a page shows: one audio and one video, both playing live tracks, the video with a picture. */
async function remoteMedia(page: Page, stage: string) {
  const elements = await mediaElementsIn(page, stage);
  return elements
    .map((e) => `${e.tag}:${e.tracks.map((t) => `${t.kind}/${t.readyState}`).join(',') || 'none'}${e.tag === 'video' ? (e.width > 0 ? ':picture' : ':blank') : ''}`)
    .sort();
}
const PLAYING = ['audio:audio/live', 'video:video/live:picture'];

// livekit-client logs its data channels' shutdown as console errors when a page leaves the room (a
// reload, the room ending under it): Chromium aborts the channels itself ("User-Initiated Abort").
// Nothing a person sees; any other console error still fails the test.
const LEAVING_NOISE = /^console: (DataChannel error on \w+: User-Initiated Abort|publisher data channel '\w+' closed unexpectedly)/;
const realErrors = (errors: string[]) => errors.filter((e) => !LEAVING_NOISE.test(e));
const DESK_STAGE = '[data-testid="video-stage"]';
const JOIN_STAGE = '.remote-stage';

/** From the device step: camera and microphone on, then in; the page joins LiveKit. */
async function enterRoom(page: Page) {
  await visible(page, 'step-devices');
  await page.getByRole('button', { name: /^(Turn on camera and microphone|开启摄像头和麦克风)$/ }).click();
  await page.getByRole('button', { name: /^(Enter the waiting room|进入等候室)$/ }).click();
}

describe('video face-signing on the real LiveKit', () => {
  it('connects borrower and agent with real media, follows reloads and lost webhooks, and ends the room', async () => {
    const real = app.real!;
    const rooms = new RoomServiceClient(real.url, real.apiKey, real.apiSecret);
    const db = app.facesign.db;
    const phone = '+8613900000801';
    const booked = await borrowers.bookVideo({ phone, product: 'real-video' });
    const auditor = await app.signIn({ roles: ['AUDITOR'] });

    // 1. The borrower enters the waiting room; the agent goes available and accepts; both pages join.
    const borrower = await borrowers.page('zh-CN');
    await keepPeerConnections(borrower.context);
    let joinPage = borrower.page;
    const joinErrors = [borrower.errors];
    await joinPage.goto(`/join/${booked.link}`);
    await borrowers.passCodeAndConsent(joinPage, phone);
    await enterRoom(joinPage);
    await visible(joinPage, 'waiting-room');

    const { context: agentContext, desk, errors: deskErrors } = await availableDesk(browser, app, AGENT, PASSWORD);
    expect(await acceptOffer(desk)).toContain('Video face-signing');
    await stateOf(app, booked.sessionId, 'IN_PROGRESS');

    const [attempt] = (await verifiedSessionOf(los, booked.loanFileId, booked.sessionId)).attempts;
    const room = roomNameFor(attempt!.id);
    const party = partyIdentity(attempt!.id);
    const agent = agentIdentity(agentUserId);
    // storage: the participants projection and the webhook inbox are what this test follows; the API
    // shows only whether the party is connected
    const row = (identity: string) => db.attemptParticipant.findUniqueOrThrow({ where: { attemptId_identity: { attemptId: attempt!.id, identity } } });
    const livekitSees = async () => (await rooms.listParticipants(room)).map((p) => p.identity).sort();
    const deskSays = () => desk.getByTestId('party-status').textContent();
    // What facesign stored of LiveKit's webhooks for this room (the verified bytes), oldest first.
    const inbox = async () =>
      (await db.liveKitEvent.findMany({ where: { roomName: room }, orderBy: [{ occurredAt: 'asc' }, { receivedAt: 'asc' }] })).map((e) => {
        const p = (e.body as { participant?: { identity?: string; sid?: string; disconnectReason?: string } }).participant;
        return { event: e.event, identity: p?.identity, sid: p?.sid, reason: p?.disconnectReason, processed: e.processedAt !== null, outcome: e.outcome };
      });

    expect((await rooms.listRooms([room])).map((r) => r.name)).toEqual([room]);
    await poll(livekitSees).toEqual([agent, party].sort());

    // 2. Each side receives the other's audio and video over WebRTC, and plays them.
    await mediaArriving(desk);
    await mediaArriving(joinPage);
    await poll(() => remoteMedia(desk, DESK_STAGE)).toEqual(PLAYING);
    await poll(() => remoteMedia(joinPage, JOIN_STAGE)).toEqual(PLAYING);
    await visible(joinPage, 'in-call');
    await screenshot(desk, 'real-livekit-desk-in-call-en', { fullPage: false });
    await screenshot(joinPage, 'real-livekit-join-in-call-zh-CN');

    // 3. LiveKit's signed participant_joined webhooks came through the relay, were verified (a bad
    // signature is answered 401), stored and applied: both present, under LiveKit's identities and sids.
    const sids = Object.fromEntries((await rooms.listParticipants(room)).map((p) => [p.identity, p.sid]));
    await poll(async () => isPresent(await row(party)) && isPresent(await row(agent))).toBe(true);
    expect(await row(party)).toMatchObject({ kind: 'PARTY', sid: sids[party] });
    expect(await row(agent)).toMatchObject({ kind: 'AGENT', sid: sids[agent] });
    const joinedDeliveries = real.webhooks.deliveries
      .filter((d) => d.room === room && d.event === 'participant_joined')
      .map(({ event, room, forwarded, status }) => ({ event, room, forwarded, status }));
    expect(joinedDeliveries).toEqual([
      { event: 'participant_joined', room, forwarded: true, status: 200 },
      { event: 'participant_joined', room, forwarded: true, status: 200 },
    ]);
    expect((await inbox()).filter((e) => e.event === 'participant_joined')).toEqual(
      expect.arrayContaining([
        { event: 'participant_joined', identity: party, sid: sids[party], reason: undefined, processed: true, outcome: `participant_joined ${party}` },
        { event: 'participant_joined', identity: agent, sid: sids[agent], reason: undefined, processed: true, outcome: `participant_joined ${agent}` },
      ]),
    );
    await poll(deskSays).toBe('Party connected');

    // 4. The borrower reloads the page: the old session says goodbye (pagehide), a new one joins.
    await joinPage.reload();
    await enterRoom(joinPage);
    await visible(joinPage, 'in-call');
    await poll(async () => {
      const sid = (await rooms.listParticipants(room)).find((p) => p.identity === party)?.sid;
      return sid !== undefined && sid !== sids[party];
    }).toBe(true);
    await mediaArriving(desk);
    await poll(() => remoteMedia(desk, DESK_STAGE)).toEqual(PLAYING);
    await poll(() => remoteMedia(joinPage, JOIN_STAGE)).toEqual(PLAYING);
    await poll(async () => isPresent(await row(party))).toBe(true);
    await poll(deskSays).toBe('Party connected');
    await screenshot(desk, 'real-livekit-desk-after-reload-en', { fullPage: false });

    // 5. The page dies without a goodbye (a phone's browser killed it) and the borrower opens the link
    // again in the same browser: LiveKit removes the stale session only when the new one arrives.
    const stalePartySid = (await rooms.listParticipants(room)).find((p) => p.identity === party)!.sid;
    const stored = (await joinPage.evaluate('JSON.stringify(Object.entries(sessionStorage))')) as string;
    const crashed = new Promise((resolve) => joinPage.once('crash', resolve));
    const cdp = await borrower.context.newCDPSession(joinPage);
    // The answer never comes: the page is gone.
    void cdp.send('Page.crash').catch(() => undefined);
    await crashed;
    joinPage = await borrower.context.newPage();
    joinErrors.push(watchPageErrors(joinPage));
    await joinPage.goto(`/join/${booked.link}`);
    // This tab's storage (the party token from the one-time code) as the reopened link would have it.
    await joinPage.evaluate(`for (const [key, value] of ${stored}) sessionStorage.setItem(key, value)`);
    await joinPage.reload();
    await enterRoom(joinPage);
    await visible(joinPage, 'in-call');
    await poll(async () => (await inbox()).some((e) => e.event === 'participant_left' && e.sid === stalePartySid && e.processed)).toBe(true);
    const kicked = (await inbox()).find((e) => e.event === 'participant_left' && e.sid === stalePartySid);
    expect(kicked?.reason).toBe('DUPLICATE_IDENTITY');
    await mediaArriving(desk);
    await poll(() => remoteMedia(desk, DESK_STAGE)).toEqual(PLAYING);
    await poll(() => remoteMedia(joinPage, JOIN_STAGE)).toEqual(PLAYING);
    await poll(async () => (await inbox()).filter((e) => e.event.startsWith('participant_') && e.identity === party && !e.processed)).toEqual([]);
    expect(isPresent(await row(party))).toBe(true);
    await poll(deskSays).toBe('Party connected');
    // 6. The agent reloads the desk too: the borrower's page drops the agent's old media and plays the new.
    const agentSid = (await rooms.listParticipants(room)).find((p) => p.identity === agent)!.sid;
    await desk.reload();
    await poll(async () => (await rooms.listParticipants(room)).find((p) => p.identity === agent)?.sid ?? agentSid).not.toBe(agentSid);
    await mediaArriving(joinPage);
    await poll(() => remoteMedia(joinPage, JOIN_STAGE)).toEqual(PLAYING);
    await poll(() => remoteMedia(desk, DESK_STAGE)).toEqual(PLAYING);
    await poll(async () => isPresent(await row(agent))).toBe(true);
    await screenshot(joinPage, 'real-livekit-join-after-reloads-zh-CN');
    console.log(`[real-livekit] party events through the reloads: ${(await inbox()).filter((e) => e.identity === party && e.event.startsWith('participant_')).map((e) => `${e.event}(${e.sid}${e.reason ? `, ${e.reason}` : ''})`).join(' ')}`);

    // 7. Webhooks are lost for a while. The borrower leaves and comes back meanwhile: facesign hears of
    // neither until the reconciler asks LiveKit (ListRooms, ListParticipants).
    real.webhooks.blackHole();
    const lostFrom = real.webhooks.deliveries.length;
    await joinPage.goto('about:blank');
    await poll(livekitSees).toEqual([agent]);
    expect(isPresent(await row(party))).toBe(true);
    const gone = await app.facesign.livekit!.reconciler.runOnce();
    expect(gone.participantsRepaired).toBe(1);
    expect(isPresent(await row(party))).toBe(false);
    await poll(deskSays).toBe('Party not connected');

    await joinPage.goto(`/join/${booked.link}`);
    await enterRoom(joinPage);
    await visible(joinPage, 'in-call');
    await poll(livekitSees).toEqual([agent, party].sort());
    expect(isPresent(await row(party))).toBe(false);
    const back = await app.facesign.livekit!.reconciler.runOnce();
    expect(back.participantsRepaired).toBe(1);
    expect(isPresent(await row(party))).toBe(true);
    await poll(deskSays).toBe('Party connected');
    real.webhooks.restore();
    const lost = real.webhooks.deliveries.slice(lostFrom).filter((d) => d.room === room && d.event.startsWith('participant_'));
    expect(lost.map((d) => [d.event, d.forwarded])).toEqual([
      ['participant_left', false],
      ['participant_joined', false],
    ]);
    await poll(() => remoteMedia(desk, DESK_STAGE)).toEqual(PLAYING);

    // 8. The borrower signs with a fresh code (the signing item can be confirmed only after that); the
    // agent confirms every item from the keyboard and submits: the session completes, the room is gone
    // from LiveKit, which says so with room_finished, and both were seen leaving.
    await joinPage.getByRole('button', { name: /^(Send me a signing code|发送签署验证码)$/ }).click();
    const signCode = codeIn(await borrowers.nextSms(phone, 'signing_code'));
    await joinPage.getByLabel(/^(Signing code|签署验证码)/).fill(signCode);
    await joinPage.getByRole('button', { name: /^(I agree and sign|我同意并签署)$/ }).click();
    await visible(joinPage, 'signed');
    const items = desk.locator('ol.checklist > li');
    const count = await items.count();
    await items.first().focus();
    for (let i = 0; i < count; i++) {
      await desk.keyboard.press('1');
      await poll(async () => (await answersOf(auditor, booked.sessionId)).size).toBe(i + 1);
    }
    await desk.getByRole('button', { name: 'Submit checklist' }).click();
    const completed = await stateOf(app, booked.sessionId, 'COMPLETED');
    await poll(async () => (await rooms.listRooms([room])).length).toBe(0);
    await poll(() => real.webhooks.deliveries.filter((d) => d.room === room && d.event === 'room_finished').map((d) => [d.forwarded, d.status])).toEqual([[true, 200]]);
    await poll(async () => (await attemptOf(los, booked.loanFileId, booked.sessionId, attempt!.id)).endedAt).not.toBeNull();
    expect([isPresent(await row(party)), isPresent(await row(agent))]).toEqual([false, false]);
    const lastSessions = [await row(party), await row(agent)].map((r) => r.sid);
    await poll(async () => (await inbox()).filter((e) => e.event === 'participant_left' && lastSessions.includes(e.sid ?? '') && e.processed).map((e) => e.identity).sort()).toEqual([agent, party].sort());
    await visible(joinPage, 'step-end');
    console.log(`[real-livekit] completed ${completed.outcome}; room events: ${real.webhooks.eventsOf(room).join(' ')}`);

    expect(realErrors(deskErrors)).toEqual([]);
    expect(realErrors(joinErrors.flat())).toEqual([]);
    await agentContext.close();
    await borrower.context.close();
  });
});
