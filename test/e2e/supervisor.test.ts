// The supervisor board in Chromium against the real server, workers and the LiveKit simulator: an agent
// coming online and a session moving through the columns without a reload, reassigning a call to another
// agent, deciding an escalation from the queue with the keyboard only, alerts arriving live (a recording
// egress failed, retries exhausted) and dismissed per browser, an agent's presence following what they
// really do (in a call, a reload, a tab closed mid-call), both languages, and the "interrupted" state
// while the server restarts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import type { ApiClient } from '../support/api-client.js';
import type { TestApp } from '../support/harness.js';
import { auditEventsOf, loanFileOf, sessionOf, verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, answerAllRequired, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer, type OnlineAgent } from '../support/verification.js';
import { connectAgent } from '../support/agent-socket.js';
import { goAvailableOnDesk, launchChromium, newContext, screenshot, signInThroughPage, startE2eApp, watchPageErrors } from './browser.js';

const PASSWORD = 'correct horse battery staple';
let app: TestApp;
let browser: Browser;
let los: ApiClient;
let context: BrowserContext;
let page: Page;
let errors: string[];
const agents: OnlineAgent[] = [];

beforeAll(async () => {
  app = await startE2eApp({ ...ALWAYS_OPEN, AGENT_DISCONNECT_GRACE_SECONDS: '5' });
  browser = await launchChromium();
  los = await losClient(app);
  await createUser(app.facesign.db, { email: 'sup@bank.test', password: PASSWORD, displayName: 'Mei Supervisor', roles: ['SUPERVISOR'] });
  context = await newContext(browser, app);
  page = await context.newPage();
  errors = watchPageErrors(page);
  await signInThroughPage(page, 'sup@bank.test', PASSWORD);
  await page.waitForURL(/\/supervisor$/);
});
afterAll(async () => {
  for (const a of agents) a.socket.close();
  await context?.close();
  await browser?.close();
  await app?.stop();
});

const card = (sessionId: string) => page.getByTestId(`session-${sessionId}`);
const columnOf = async (sessionId: string) => (await card(sessionId).count()) === 0 ? undefined : card(sessionId).locator('xpath=ancestor::section[1]').getAttribute('data-testid');
/** Live updates go through a queue, a worker and the socket: give them time. */
const poll = <T>(check: () => Promise<T> | T, options: { timeout?: number } = {}) => expect.poll(check, { timeout: 15_000, ...options });
const agentRow = (id: string) => page.getByTestId(`agent-${id}`);
/** The value of the focused control (the test's tsconfig has no DOM types, so the expression is a string). */
const focusedValue = () => page.evaluate('document.activeElement?.value');

let liveSessionId: string;
let liveLoanRef: string;
let liveLoanFileId: string;
let first: OnlineAgent;
let second: OnlineAgent;

describe('the live board', () => {
  it('shows an agent coming online and a session moving through the columns, without a reload', async () => {
    const client = await app.signIn({ roles: ['AGENT'], languages: ['zh-CN'], skills: ['e2e-board'], displayName: 'Li Agent' });
    const agentId = (await client.get<{ id: string }>('/api/auth/me')).body.id;
    await page.goto('/supervisor');
    await poll(() => page.getByTestId('live-state').textContent()).toBe('Live');
    await poll(() => agentRow(agentId).getByTestId('presence').textContent()).toBe('Offline');
    // Anything the page keeps in memory would vanish on a reload.
    await page.evaluate('window.__notReloaded = true');

    const socket = await connectAgent(app.url, client);
    expect(await socket.emit('presence:set', { presence: 'available' })).toEqual({ ok: true });
    first = { client, socket, userId: agentId, seenOffers: new Set() };
    agents.push(first);
    await poll(() => agentRow(agentId).getByTestId('presence').textContent()).toBe('Available');

    // A call that answers after 9 s: offered, dialling, then in progress, each seen live.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550109', product: 'e2e-board' });
    liveSessionId = await scheduleCall(los, loanFileId, partyId);
    liveLoanFileId = loanFileId;
    liveLoanRef = (await loanFileOf(los, loanFileId)).externalRef;
    await poll(() => columnOf(liveSessionId)).toBe('column-offered');
    await poll(() => card(liveSessionId).textContent()).toContain('Offered to Li Agent');
    await takeOffer(first, liveSessionId);
    await poll(() => columnOf(liveSessionId), { timeout: 20_000 }).toMatch(/column-dialling|column-in_progress/);
    await stateOf(app, liveSessionId, 'IN_PROGRESS');
    await poll(() => columnOf(liveSessionId)).toBe('column-in_progress');
    await poll(() => agentRow(agentId).textContent()).toContain(liveLoanRef);
    expect(await card(liveSessionId).textContent()).toContain('Agent: Li Agent');
    expect(await page.evaluate('window.__notReloaded')).toBe(true);
    // The board never shows the party's name or phone number.
    expect(await page.locator('main').textContent()).not.toMatch(/赵敏|5550109/);
    await screenshot(page, 'supervisor-board-en');
  });

  it('reassigns the call in progress to another agent', async () => {
    second = await onlineAgent(app, 'e2e-board');
    agents.push(second);
    const name = (await second.client.get<{ displayName: string }>('/api/auth/me')).body.displayName;
    await poll(() => agentRow(second.userId).getByTestId('presence').textContent()).toBe('Available');

    await card(liveSessionId).getByRole('button', { name: `Reassign ${liveLoanRef}` }).click();
    const form = page.getByRole('form', { name: `Reassign ${liveLoanRef}` });
    // Submitting without a choice says what is missing.
    await form.getByRole('button', { name: 'Reassign' }).click();
    await poll(() => form.textContent()).toContain('Choose the agent');
    // Each agent with the languages they speak: the party speaks Chinese.
    await form.getByLabel('Give to agent').selectOption({ label: `${name} — Available — Chinese` });
    await form.getByRole('button', { name: 'Reassign' }).click();
    await poll(() => page.getByRole('status').filter({ hasText: 'was given to' }).textContent()).toContain(`${liveLoanRef} was given to ${name}.`);
    await poll(() => card(liveSessionId).textContent()).toContain(`Agent: ${name}`);
    expect((await sessionOf(los, liveSessionId)).assignedAgentId).toBe(second.userId);
    const supervisor = app.client();
    expect((await supervisor.login('sup@bank.test', PASSWORD)).status).toBe(200);
    const handover = (await auditEventsOf(supervisor, liveSessionId)).find((e) => e.entityId === liveSessionId && e.action === 'session.reassigned');
    expect(handover?.data).toMatchObject({ fromAgentId: first.userId, toAgentId: second.userId });
  });

  it('decides an escalated session from the queue with the keyboard only, and it leaves the queue', async () => {
    // The new agent finishes the checklist: identity unclear and a high-severity flag escalate it.
    await answerAllRequired(second, liveSessionId, (itemId) => (itemId === 'identity_name' ? 'UNCLEAR' : 'CONFIRMED'));
    expect((await second.client.post(`/api/sessions/${liveSessionId}/risk-flags`, { code: 'PROMPTED', severity: 'HIGH', note: 'someone whispering' })).status).toBe(201);
    expect((await second.client.post(`/api/sessions/${liveSessionId}/complete`)).status).toBe(200);

    const queue = page.getByTestId('escalation-queue');
    const entry = page.getByTestId(`escalation-${liveSessionId}`);
    await poll(() => entry.count()).toBe(1);
    await poll(() => columnOf(liveSessionId)).toBe('column-escalated');

    // Keyboard only from here: open the case, try to submit empty, choose, write, submit.
    await entry.getByRole('button', { name: /Review and decide/ }).focus();
    await page.keyboard.press('Enter');
    const caseView = page.getByTestId(`case-${liveSessionId}`);
    await poll(() => caseView.textContent()).toContain('Note: someone whispering');
    expect(await caseView.getByRole('list').first().textContent()).toContain('High-severity risk flag: Prompted by someone');
    expect(await caseView.textContent()).toMatch(/Required item unclear: .+/);
    await screenshot(page, 'supervisor-escalation-en');

    await page.keyboard.press('Tab'); // the first outcome
    expect(await focusedValue()).toBe('PASSED');
    await page.keyboard.press('Tab'); // the note
    await page.keyboard.press('Tab'); // the button
    await page.keyboard.press('Enter');
    await poll(() => caseView.textContent()).toContain('Choose pass or fail.');
    // The form sends the focus back to what is missing.
    expect(await focusedValue()).toBe('PASSED');
    await page.keyboard.press('Space');
    await page.keyboard.press('ArrowDown'); // FAILED
    await page.keyboard.press('ArrowUp'); // back to PASSED
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.tagName')).toBe('TEXTAREA');
    await page.keyboard.type('Identity confirmed by a call back to the registered number');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');

    await poll(() => page.getByRole('status').filter({ hasText: 'decision recorded' }).textContent()).toContain(`${liveLoanRef}: decision recorded — Pass`);
    // The notice follows a change of language instead of staying in the one it was raised in.
    await page.locator('.lang-switch select').first().selectOption('zh-CN');
    await poll(() => page.getByRole('status').filter({ hasText: '决定已记录' }).textContent()).toContain(`${liveLoanRef}：决定已记录——通过`);
    await page.locator('.lang-switch select').first().selectOption('en');
    await poll(() => entry.count()).toBe(0);
    expect(await queue.textContent()).toContain('Nothing is waiting for a decision.');
    const decided = await verifiedSessionOf(los, liveLoanFileId, liveSessionId);
    expect(decided).toMatchObject({ state: 'COMPLETED', outcome: 'PASSED', decisionNote: 'Identity confirmed by a call back to the registered number' });
    expect(await columnOf(liveSessionId)).toBeUndefined();
  });

  it('shows alerts live — a failed recording, exhausted retries — newest first, dismissible per browser', async () => {
    const alerts = page.getByTestId('alerts');
    // A recording LiveKit egress fails while the call is on.
    const egressAgent = await onlineAgent(app, 'e2e-egress');
    agents.push(egressAgent);
    const call = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'e2e-egress' });
    const failing = await scheduleCall(los, call.loanFileId, call.partyId);
    app.sim!.control.injectEgressFault({ kind: 'fail', error: 'encoder crashed', afterSeconds: 1 });
    await takeOffer(egressAgent, failing);
    const failedRef = (await loanFileOf(los, call.loanFileId)).externalRef;
    await poll(() => alerts.getByTestId('alert-item').filter({ hasText: 'Recording failed' }).count(), { timeout: 20_000 }).toBe(1);
    await poll(() => alerts.textContent()).toContain(`A recording of ${failedRef} failed (encoder crashed)`);

    // A number that does not exist: no retry, the session is exhausted at once.
    const invalidAgent = await onlineAgent(app, 'e2e-invalid');
    agents.push(invalidAgent);
    const invalid = await loanFileWithBorrower(los, { phone: '+8613805550130', product: 'e2e-invalid' });
    const exhausted = await scheduleCall(los, invalid.loanFileId, invalid.partyId);
    await takeOffer(invalidAgent, exhausted);
    const exhaustedRef = (await loanFileOf(los, invalid.loanFileId)).externalRef;
    await poll(() => alerts.getByTestId('alert-item').first().getAttribute('data-kind'), { timeout: 20_000 }).toBe('retries_exhausted');
    await poll(() => alerts.getByTestId('alert-item').first().textContent()).toContain(`${exhaustedRef} failed (Number not in service)`);
    await screenshot(page, 'supervisor-alerts-en');

    // Dismissed here stays dismissed here after a reload, but not in another browser.
    await alerts.getByRole('button', { name: `Dismiss alert: Retries exhausted ${exhaustedRef}` }).click();
    await poll(() => alerts.getByTestId('alert-item').filter({ hasText: exhaustedRef }).count()).toBe(0);
    await page.reload();
    await poll(() => alerts.getByTestId('alert-item').filter({ hasText: failedRef }).count()).toBe(1);
    expect(await alerts.getByTestId('alert-item').filter({ hasText: exhaustedRef }).count()).toBe(0);
    await poll(() => alerts.getByRole('button', { name: 'Show 1 dismissed' }).count()).toBe(1);
    const other = await newContext(browser, app);
    const otherPage = await other.newPage();
    await signInThroughPage(otherPage, 'sup@bank.test', PASSWORD);
    await otherPage.waitForURL(/\/supervisor$/);
    await poll(() => otherPage.getByTestId('alerts').getByTestId('alert-item').filter({ hasText: exhaustedRef }).count()).toBe(1);
    await other.close();
    await app.facesign.verification.scheduling.cancel(failing, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
  });

  it("follows an agent's real state: the same status after a reload, in a session on a call, an alert when the tab closes mid-call", async () => {
    const agentId = (await createUser(app.facesign.db, { email: 'zhao.agent@bank.test', password: PASSWORD, displayName: 'Zhao Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: ['e2e-presence'] })).id;
    const deskContext = await newContext(browser, app);
    const desk = await deskContext.newPage();
    await goAvailableOnDesk(desk, app, 'zhao.agent@bank.test', PASSWORD);
    await poll(() => agentRow(agentId).getByTestId('presence').textContent()).toBe('Available');

    // A reload keeps the status the server holds; so does another browser with nothing stored.
    await desk.reload();
    await poll(() => desk.getByRole('radio', { name: 'Available' }).isChecked()).toBe(true);
    const elsewhere = await newContext(browser, app);
    const otherDesk = await elsewhere.newPage();
    await signInThroughPage(otherDesk, 'zhao.agent@bank.test', PASSWORD);
    await otherDesk.waitForURL(/\/desk$/);
    await poll(() => otherDesk.getByRole('radio', { name: 'Available' }).isChecked()).toBe(true);
    await elsewhere.close();
    expect(await app.facesign.verification.presence.chosen(agentId)).toBe('available');
    await poll(() => agentRow(agentId).getByTestId('presence').textContent()).toBe('Available');

    // In a call with the status left on Available: the board says what the agent is doing.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613900008801', product: 'e2e-presence' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    const loanRef = (await loanFileOf(los, loanFileId)).externalRef;
    await desk.getByTestId('offer').getByRole('button', { name: 'Accept' }).click();
    await stateOf(app, sessionId, 'IN_PROGRESS');
    await poll(() => agentRow(agentId).getByTestId('presence').textContent()).toBe('In a session');
    await poll(() => desk.getByTestId('presence-hint').textContent()).toContain('You are in a session');
    await page.getByLabel('Language / 语言').selectOption('zh-CN');
    await poll(() => agentRow(agentId).getByTestId('presence').textContent()).toBe('会话中');
    await page.getByLabel('Language / 语言').selectOption('en');

    // The agent closes the tab mid-call and does not come back: after the grace period the board shows
    // it, flags the session (left open for the supervisor) and raises an alert, in both languages.
    await deskContext.close();
    await poll(() => agentRow(agentId).getByTestId('presence').textContent(), { timeout: 30_000 }).toBe('Offline');
    await poll(() => card(sessionId).getByTestId('agent-offline').textContent()).toBe('Agent offline: reassign or end');
    const alert = page.getByTestId('alert-item').filter({ hasText: loanRef });
    await poll(() => alert.textContent()).toContain(`Agent left a session`);
    expect(await alert.textContent()).toContain(`Zhao Agent closed the console during ${loanRef}`);
    expect((await sessionOf(los, sessionId)).state).toBe('IN_PROGRESS');
    await screenshot(page, 'supervisor-agent-left-en');
    await page.getByLabel('Language / 语言').selectOption('zh-CN');
    await poll(() => alert.textContent()).toContain(`Zhao Agent 在处理 ${loanRef}`);
    expect(await alert.textContent()).toContain('坐席离开了会话');
    expect(await card(sessionId).getByTestId('agent-offline').textContent()).toBe('坐席已离线：请改派或结束');
    expect(await agentRow(agentId).getByTestId('presence').textContent()).toBe('离线');
    await screenshot(page, 'supervisor-agent-left-zh-CN');
    await page.getByLabel('Language / 语言').selectOption('en');
    await app.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    expect(errors).toEqual([]);
  });

  it('reads in Chinese', async () => {
    await page.getByLabel('Language / 语言').selectOption('zh-CN');
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('主管看板');
    await poll(() => page.getByTestId('alerts').textContent()).toContain('录制失败');
    expect(await page.getByTestId('live-state').textContent()).toBe('实时');
    expect(await page.getByRole('heading', { name: /升级队列/ }).count()).toBe(1);
    await screenshot(page, 'supervisor-board-zh-CN');
    await page.getByLabel('Language / 语言').selectOption('en');
    expect(errors).toEqual([]);
  });

  it('says when live updates are interrupted, and reloads the board once they are back', async () => {
    // The board's own time, to the millisecond: a restart can begin and end within the displayed second.
    const generatedAt = async () => Date.parse((await page.getByTestId('board-updated').getAttribute('data-generated-at')) ?? '');
    expect(await page.getByTestId('board-updated').textContent()).toMatch(/^Updated /);
    const restarting = app.restart();
    await poll(() => page.getByTestId('live-interrupted').isVisible(), { timeout: 20_000 }).toBe(true);
    const interruptedAt = Date.now();
    expect(await page.getByTestId('live-state').textContent()).toBe('Interrupted');
    await restarting;
    await poll(() => page.getByTestId('live-state').textContent(), { timeout: 30_000 }).toBe('Live');
    expect(await page.getByTestId('live-interrupted').count()).toBe(0);
    // Nothing reaches a disconnected board: a snapshot newer than the interruption is the reconnect's reload.
    await poll(generatedAt).toBeGreaterThan(interruptedAt);
  });
});
