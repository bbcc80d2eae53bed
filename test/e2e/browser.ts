// Real Chromium from Debian's package, driven by playwright-core, against the real facesign server
// (started in-process on a fixed free port so PUBLIC_URL, cookies and the socket Origin check all hold)
// with the LiveKit simulator, or the real livekit-server (test/livekit). Fake camera and microphone
// devices stand in for a person.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Env } from '../../server/config.js';
import { startTestApp, type TestApp, type TestAppOptions } from '../support/harness.js';

export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'e2e');

function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('Debian chromium is not installed (apt-get install chromium); .ci/run installs it');
  }
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      // WebRTC leaves loopback interfaces out of its candidates; the real-LiveKit tier's livekit-server
      // advertises 127.0.0.1, which a machine whose only interface is loopback could not reach otherwise.
      '--allow-loopback-in-peer-connection',
    ],
  });
}

/**
 * A port that is free now and that the OS will not hand out on its own: below the ephemeral range
 * (Linux: 32768-60999), so the s3rver, the simulator or another process listening on port 0 while
 * the app starts cannot take it first.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port between 20000 and 32000');
}

/** The app on a known port: pages, API and sockets share PUBLIC_URL's origin as in production. */
export async function startE2eApp(env: Partial<Record<keyof Env, string>> = {}, options: TestAppOptions = { livekit: true }): Promise<TestApp> {
  const port = await freePort();
  return startTestApp({ PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}`, ...env }, options);
}

/** A fresh browser context (cookies, storage) with camera and microphone allowed for the app. */
export async function newContext(browser: Browser, app: TestApp, options: { locale?: string; mobile?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({
    baseURL: app.url,
    locale: options.locale ?? 'en-US',
    viewport: options.mobile ? { width: 390, height: 844 } : { width: 1366, height: 900 },
    deviceScaleFactor: 1,
    isMobile: options.mobile ?? false,
    hasTouch: options.mobile ?? false,
  });
  await context.grantPermissions(['camera', 'microphone'], { origin: app.url });
  return context;
}

/** Writes test-artifacts/e2e/<name>.png (kept by CI as the pages' pictures); the whole page unless told to keep to the screen. */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: options.fullPage ?? true });
  return path;
}

/** Collects uncaught page errors and console errors, so broken pages cannot pass quietly. */
export function watchPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // A 4xx the page asked for and handled (signed out, wrong code) is logged by Chromium; it is not a fault.
    if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) {
      errors.push(`console: ${message.text()}`);
    }
  });
  return errors;
}

export async function signInThroughPage(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel(/E-mail|电子邮箱/).fill(email);
  await page.getByLabel(/^Password$|^密码$/).fill(password);
  await page.getByRole('button', { name: /^Sign in$|^登录$/ }).click();
}

/**
 * Controls a screen reader could not name: buttons, links, inputs, selects and text areas with no
 * text, aria-label, aria-labelledby, title or <label>. Returns a short description of each offender.
 * (Kept as page-side source: the test project is type-checked without the DOM library.)
 */
const UNLABELLED_CONTROLS = `(() => {
  const offenders = [];
  const visible = (el) => {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return style.visibility !== 'hidden' && style.display !== 'none' && box.width > 0 && box.height > 0;
  };
  for (const el of document.querySelectorAll('button, a[href], input, select, textarea, [role="button"], [role="radio"]')) {
    if (!visible(el) || el.type === 'hidden') continue;
    const labelledBy = el.getAttribute('aria-labelledby');
    const byRef = labelledBy ? labelledBy.split(/\\s+/).map((id) => document.getElementById(id)?.textContent?.trim() ?? '').join(' ').trim() : '';
    const labels = el.labels ? Array.from(el.labels).map((l) => l.textContent?.trim() ?? '').join(' ').trim() : '';
    const own = el.tagName === 'BUTTON' || el.tagName === 'A' || el.getAttribute('role') === 'button' ? (el.textContent ?? '').trim() : '';
    const name = el.getAttribute('aria-label')?.trim() || byRef || labels || own || el.getAttribute('title')?.trim() || '';
    if (!name) offenders.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + String(el.className).split(' ').join('.') : ''));
  }
  return offenders;
})()`;

export async function unlabelledControls(page: Page): Promise<string[]> {
  return (await page.evaluate(UNLABELLED_CONTROLS)) as string[];
}

/** Signs an agent in through the page and goes available on the desk; returns once the server holds the agent available. */
export async function goAvailableOnDesk(page: Page, app: TestApp, email: string, password: string): Promise<void> {
  await signInThroughPage(page, email, password);
  await page.waitForURL(/\/desk$/);
  await page.getByRole('radio', { name: 'Available' }).check();
  // storage: the user's id, to read the presence the server holds for it in Redis
  const user = await app.facesign.db.user.findFirstOrThrow({ where: { email } });
  await expect.poll(() => app.facesign.redis.hget('presence', user.id)).toBe('available');
}

/**
 * Keeps every RTCPeerConnection a page opens reachable from the test, so it can read WebRTC's own
 * statistics (what arrived over the network) and the data messages LiveKit sent, rather than what the
 * page says. Test instrumentation in the browser, not in the app: the app's code runs unchanged.
 */
const KEEP_PEER_CONNECTIONS = `(() => {
  const Native = window.RTCPeerConnection;
  if (!Native || window.__testPeerConnections) return;
  const all = [];
  const messages = [];
  window.__testPeerConnections = all;
  window.__testDataMessages = messages;
  const keep = (data) => {
    const bytes = new Uint8Array(data);
    let text = '';
    for (const b of bytes) text += String.fromCharCode(b);
    messages.push(btoa(text));
  };
  const listen = (channel) => {
    channel.addEventListener('message', (m) => {
      if (m.data instanceof ArrayBuffer) keep(m.data);
      else if (m.data instanceof Blob) m.data.arrayBuffer().then(keep);
    });
  };
  // Data arrives on channels the server opens, or (one peer connection for both directions) on the
  // ones the page opened itself.
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      all.push(this);
      this.addEventListener('datachannel', (event) => listen(event.channel));
    }
    createDataChannel(...args) {
      const channel = super.createDataChannel(...args);
      listen(channel);
      return channel;
    }
  };
})()`;

/** The binary data messages LiveKit sent the page (needs keepPeerConnections): LiveKit DataPacket bytes. */
export async function dataMessages(page: Page): Promise<Buffer[]> {
  const encoded = (await page.evaluate('window.__testDataMessages ?? []')) as string[];
  return encoded.map((b64) => Buffer.from(b64, 'base64'));
}

export async function keepPeerConnections(context: BrowserContext): Promise<void> {
  await context.addInitScript({ content: KEEP_PEER_CONNECTIONS });
}

export interface InboundMedia {
  /** `energy`: WebRTC's totalAudioEnergy, which silence leaves at (near) zero. */
  audio: { bytes: number; packets: number; energy: number };
  video: { bytes: number; packets: number; framesDecoded: number };
}

/** Totals of inbound-rtp over the page's open peer connections (needs keepPeerConnections). */
export async function inboundMedia(page: Page): Promise<InboundMedia> {
  return (await page.evaluate(`(async () => {
    const totals = { audio: { bytes: 0, packets: 0, energy: 0 }, video: { bytes: 0, packets: 0, framesDecoded: 0 } };
    for (const pc of window.__testPeerConnections ?? []) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp' || !totals[s.kind]) return;
        totals[s.kind].bytes += s.bytesReceived ?? 0;
        totals[s.kind].packets += s.packetsReceived ?? 0;
        if (s.kind === 'video') totals.video.framesDecoded += s.framesDecoded ?? 0;
        if (s.kind === 'audio') totals.audio.energy += s.totalAudioEnergy ?? 0;
      });
    }
    return totals;
  })()`)) as InboundMedia;
}

export interface PageMediaElement {
  tag: 'audio' | 'video';
  tracks: { kind: string; readyState: string }[];
  /** Decoded picture size; 0 until a frame arrived. */
  width: number;
  height: number;
}

/** The <audio> and <video> elements inside `selector` and the live tracks they play. */
export async function mediaElementsIn(page: Page, selector: string): Promise<PageMediaElement[]> {
  return (await page.evaluate(`Array.from(document.querySelectorAll(${JSON.stringify(selector)} + ' audio, ' + ${JSON.stringify(selector)} + ' video')).map((el) => ({
    tag: el.tagName.toLowerCase(),
    tracks: el.srcObject ? el.srcObject.getTracks().map((t) => ({ kind: t.kind, readyState: t.readyState })) : [],
    width: el.videoWidth ?? 0,
    height: el.videoHeight ?? 0,
  }))`)) as PageMediaElement[];
}

/** An agent's desk with WebRTC statistics kept readable: signed in, available, page errors collected. */
export async function availableDesk(browser: Browser, app: TestApp, email: string, password: string) {
  const context = await newContext(browser, app);
  await keepPeerConnections(context);
  const desk = await context.newPage();
  const errors = watchPageErrors(desk);
  await goAvailableOnDesk(desk, app, email, password);
  return { context, desk, errors };
}

/** Waits for the desk's next offer and accepts it; returns what the offer said. */
export async function acceptOffer(desk: Page): Promise<string> {
  const offer = desk.getByTestId('offer');
  await offer.waitFor({ timeout: 30_000 });
  const text = (await offer.textContent()) ?? '';
  await offer.getByRole('button', { name: 'Accept' }).click();
  return text;
}

/** Uploads a snapshot from the desk page itself: its session cookie and its CSRF token, as the snapshot button does. */
export async function uploadCaptureFrom(desk: Page, sessionId: string, kind: string, image: Buffer): Promise<number> {
  return desk.evaluate(
    async ({ sessionId, kind, base64 }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      // Page-side code: the test project has no DOM types.
      const { cookie } = (globalThis as unknown as { document: { cookie: string } }).document;
      const csrf = /(?:^|;\s*)fs_csrf=([^;]*)/.exec(cookie)?.[1] ?? '';
      const res = await fetch(`/api/sessions/${sessionId}/captures?kind=${kind}`, { method: 'POST', headers: { 'content-type': 'image/jpeg', 'x-csrf-token': decodeURIComponent(csrf) }, body: bytes });
      return res.status;
    },
    { sessionId, kind, base64: image.toString('base64') },
  );
}
