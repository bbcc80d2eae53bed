// An answered confirmation call on the real stack: the agent's desk in Chromium and the borrower's
// phone (SIPp, called by real livekit-sip) in one LiveKit room, with audio both ways. The phone echoes
// what it hears, so sound arriving from the phone's track means the agent's microphone reached the
// phone and came back: a silent line would carry packets but no audio energy. Keypad digits the phone
// sends arrive in the room as LiveKit's SIP DTMF data packets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { DataPacket } from '@livekit/protocol';
import { RoomServiceClient } from 'livekit-server-sdk';
import { agentIdentity, roomNameFor, sipPartyIdentity } from '../../server/livekit/identities.js';
import { createUser } from '../../server/users/users.service.js';
import type { ApiClient } from '../support/api-client.js';
import type { TestApp } from '../support/harness.js';
import { verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, scheduleCall, stateOf } from '../support/verification.js';
import { poll } from '../e2e/borrower.js';
import { acceptOffer, availableDesk, dataMessages, inboundMedia, launchChromium, screenshot, startE2eApp } from '../e2e/browser.js';

let app: TestApp;
let browser: Browser;
let los: ApiClient;
let agentUserId: string;
const PASSWORD = 'correct horse battery staple';
const AGENT = 'qian.agent@bank.test';

beforeAll(async () => {
  app = await startE2eApp({ ...ALWAYS_OPEN }, { livekit: 'real' });
  browser = await launchChromium();
  los = await losClient(app);
  agentUserId = (await createUser(app.facesign.db, { email: AGENT, password: PASSWORD, displayName: 'Qian Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: ['real-call'] })).id;
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('a confirmation call on the real LiveKit', () => {
  it('puts the agent and the phone in one room with audio flowing both ways', async () => {
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550101', product: 'real-call' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);

    const { context, desk, errors } = await availableDesk(browser, app, AGENT, PASSWORD);
    expect(await acceptOffer(desk)).toContain('Confirmation call');
    await stateOf(app, sessionId, 'IN_PROGRESS');

    const [first] = (await verifiedSessionOf(los, loanFileId, sessionId)).attempts;
    const attempt = { ...first!, roomName: roomNameFor(first!.id) };
    expect(attempt.dialOutcome).toBe('ANSWERED');
    // storage: LiveKit's SIP call id, which no API shows
    expect((await app.facesign.db.attempt.findUniqueOrThrow({ where: { id: attempt.id }, select: { sipCallId: true } })).sipCallId).toMatch(/^SCL_/);
    const agentUser = { id: agentUserId };
    const real = app.real!;
    const rooms = new RoomServiceClient(real.url, real.apiKey, real.apiSecret);
    // The recording's egress joins as a hidden participant (its identity is the egress id) once its
    // start job has run: the people in the room are the agent and the phone.
    const people = async () => (await rooms.listParticipants(attempt.roomName)).filter((p) => !p.identity.startsWith('EG_'));
    await poll(async () => (await people()).map((p) => `${p.identity}:${p.attributes['sip.callStatus'] ?? '-'}`).sort()).toEqual(
      [`${agentIdentity(agentUser.id)}:-`, `${sipPartyIdentity(attempt.id)}:active`].sort(),
    );
    await poll(() => desk.getByTestId('party-status').textContent()).toBe('Party connected');

    // The phone's track arrives at the desk carrying sound: the agent's voice, echoed by the phone.
    const before = await inboundMedia(desk);
    await poll(async () => {
      const now = await inboundMedia(desk);
      return { packets: now.audio.packets > before.audio.packets + 50, sound: now.audio.energy - before.audio.energy > 0.001 };
    }).toEqual({ packets: true, sound: true });
    await screenshot(desk, 'real-livekit-desk-call-en', { fullPage: false });
    expect(errors).toEqual([]);
    await app.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    await context.close();
  });

  it('hears the keypad: a digit the party presses reaches the room as LiveKit SIP DTMF', async () => {
    // +86 138 0555 0163: the SIPp phone answers after a second and presses 3 (RFC 2833) a second later.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550163', product: 'real-call' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    const { context, desk } = await availableDesk(browser, app, AGENT, PASSWORD);
    await acceptOffer(desk);
    await stateOf(app, sessionId, 'IN_PROGRESS');
    const digits = async () =>
      (await dataMessages(desk))
        .map((bytes) => DataPacket.fromBinary(bytes).value)
        .flatMap((value) => (value.case === 'sipDtmf' ? [value.value.digit] : []));
    await poll(digits).toEqual(['3']);
    await app.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    await context.close();
  });
});
