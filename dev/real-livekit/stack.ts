// The real LiveKit stack on loopback, for the real-LiveKit test tier and the demo: a private Redis,
// livekit-server, livekit-sip, a SIPp phone and the audio egress stand-in, on free ports with generated configs. LiveKit's
// webhooks go through an in-process relay so a test (or the demo) can point them at facesign once it
// listens, and can black-hole them for a while to prove the reconciler repairs what was lost.
//
//   const stack = await startRealLiveKit();
//   stack.webhooks.setTarget(`${facesignUrl}/livekit/webhook`);
//   const trunkId = await stack.createTrunk();          // an outbound trunk to the SIPp phone
//   ... await stack.stop();
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SIPTransport } from '@livekit/protocol';
import { SipClient } from 'livekit-server-sdk';
import { portOpen } from '../local-services.js';
import { realBinary, realVersions, type RealBinary } from './binaries.js';
import { freePortBlock, httpOk, startProcess, waitUntilReady, type Supervised } from './processes.js';
import { TEST_NUMBERS, type PartyScript } from '../livekit-sim/sip-scripts.js';
import { dtmfPcap, repeatedPresses } from './dtmf-pcap.js';
import { keypadPcapFile, sippPhoneScenario } from './sipp-phone.js';

export interface RealLiveKitOptions {
  /** Start livekit-sip and the SIPp phone (default true). */
  sip?: boolean;
  /** Keep configs and logs here instead of a temporary folder that is removed on stop. */
  workDir?: string;
  /** Where SIPp's DTMF captures are (Debian: /usr/share/sip-tester). */
  sippPcapDir?: string;
  /** What the SIPp phone does for a number outside the test-number table (default: answers after 2 s). */
  phoneScript?: PartyScript;
  /** How many RTP ports livekit-sip gets, which bounds its concurrent calls (default 50). */
  sipRtpPorts?: number;
  /**
   * Start the audio egress stand-in (dev/real-livekit/egress-standin; default true): audio-only room
   * composite recordings to Ogg Opus on S3, through livekit-server's real egress RPC and webhooks.
   * Without it, StartEgress fails as on a LiveKit with no egress service. Video egress is never served.
   */
  egress?: boolean;
}

export interface WebhookDelivery {
  /** LiveKit's event id: a retried delivery repeats it. */
  id: string;
  event: string;
  room: string | undefined;
  /** When the relay received it (ms since the epoch). */
  at: number;
  numDropped: number;
  forwarded: boolean;
  status: number | undefined;
}

/**
 * Receives LiveKit's webhooks and passes them on byte for byte (body and Authorization), so the
 * receiver verifies LiveKit's own signature. While black-holed it answers 200 and drops them: LiveKit
 * thinks they were delivered, as when a load balancer loses them.
 */
export class WebhookRelay {
  readonly deliveries: WebhookDelivery[] = [];
  url = '';
  private target: string | undefined;
  private blackHoled = false;
  private readonly refused = new Map<string, number>();
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void this.pass(Buffer.concat(chunks), req.headers['content-type'], req.headers.authorization).then(
        (status) => res.writeHead(status).end(),
        () => res.writeHead(502).end(),
      );
    });
  });

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/livekit/webhook`;
  }

  setTarget(url: string | undefined): void {
    this.target = url;
  }

  /** Drop every webhook until `restore()`. */
  blackHole(): void {
    this.blackHoled = true;
  }

  restore(): void {
    this.blackHoled = false;
  }

  /** Answer every delivery about `room` with `status` (a failing receiver) until `accept(room)`. */
  refuse(room: string, status = 503): void {
    this.refused.set(room, status);
  }

  accept(room: string): void {
    this.refused.delete(room);
  }

  /** Events of one room, in the order LiveKit sent them. */
  eventsOf(room: string): string[] {
    return this.deliveries.filter((d) => d.room === room).map((d) => d.event);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async pass(body: Buffer, contentType: string | undefined, authorization: string | undefined): Promise<number> {
    let parsed: { id?: string; event?: string; numDropped?: number; room?: { name?: string }; egressInfo?: { roomName?: string } } = {};
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      // not JSON: passed on as it is
    }
    const room = parsed.room?.name ?? parsed.egressInfo?.roomName;
    const delivery: WebhookDelivery = { id: parsed.id ?? '', event: parsed.event ?? '', room, at: Date.now(), numDropped: Number(parsed.numDropped ?? 0), forwarded: false, status: undefined };
    this.deliveries.push(delivery);
    const refusal = room === undefined ? undefined : this.refused.get(room);
    if (refusal !== undefined) {
      delivery.status = refusal;
      return refusal;
    }
    if (this.blackHoled || !this.target) {
      delivery.status = 200;
      return 200;
    }
    const res = await fetch(this.target, {
      method: 'POST',
      body,
      headers: { 'content-type': contentType ?? 'application/webhook+json', ...(authorization ? { authorization } : {}) },
      signal: AbortSignal.timeout(10_000),
    });
    delivery.forwarded = true;
    delivery.status = res.status;
    await res.arrayBuffer();
    return res.status;
  }
}

export interface RealLiveKit {
  /** HTTP(S) base of livekit-server's API, what LIVEKIT_URL is set to. */
  url: string;
  /** What browsers connect to. */
  wsUrl: string;
  apiKey: string;
  apiSecret: string;
  webhooks: WebhookRelay;
  /** SIPp's SIP address (host:port, UDP), when sip is on. */
  phoneAddress: string | undefined;
  versions: Record<RealBinary | 'sipp', string>;
  workDir: string;
  /** Takes livekit-sip down (its calls end with it) and brings it back, for "SIP service down" faults. */
  stopSip(): Promise<void>;
  startSip(): Promise<void>;
  /** An outbound trunk (to the SIPp phone unless another address is given). */
  createTrunk(address?: string, options?: { transport?: 'udp' | 'tcp' }): Promise<string>;
  /** The last lines each server wrote, for a failing test's message. */
  logs(lines?: number): Promise<string>;
  /** Everything livekit-server has logged so far (JSON-ish lines at info level). */
  serverLog(): Promise<string>;
  /** The running servers' process ids by name (redis-server, livekit-server, egress-standin, livekit-sip, sipp), for CPU accounting. */
  pids(): Record<string, number>;
  stop(): Promise<void>;
}

const PORTS = {
  redis: 0,
  http: 1,
  rtcTcp: 2,
  rtcUdp: 3,
  sip: 4,
  sipHealth: 5,
  phone: 6,
  // SIPp echoes media on this port and the one two above it.
  phoneMedia: 8,
  sipRtpFirst: 12,
} as const;

const DEFAULT_SIP_RTP_PORTS = 50;

export async function startRealLiveKit(options: RealLiveKitOptions = {}): Promise<RealLiveKit> {
  const withSip = options.sip ?? true;
  const workDir = options.workDir ? resolve(options.workDir) : await mkdtemp(join(tmpdir(), 'facesign-livekit-'));
  const rtpPorts = options.sipRtpPorts ?? DEFAULT_SIP_RTP_PORTS;
  const base = await freePortBlock(PORTS.sipRtpFirst + rtpPorts);
  const port = (key: keyof typeof PORTS) => base + PORTS[key];
  const apiKey = `APIfs${randomBytes(6).toString('hex')}`;
  const apiSecret = randomBytes(24).toString('base64url');
  const processes: Supervised[] = [];
  const webhooks = new WebhookRelay();
  await webhooks.listen();

  const stop = async () => {
    for (const proc of [...processes].reverse()) await proc.stop();
    await webhooks.close();
    if (!options.workDir) await rm(workDir, { recursive: true, force: true });
  };

  let sip: Supervised | undefined;
  const startSip = async () => {
    if (sip && sip.exited === undefined) return;
    const proc = startProcess('livekit-sip', realBinary('livekit-sip'), ['--config', join(workDir, 'livekit-sip.yaml')], { logFile: join(workDir, 'livekit-sip.log') });
    processes.push(proc);
    sip = proc;
    await waitUntilReady(proc, () => httpOk(`http://127.0.0.1:${port('sipHealth')}/`));
  };

  try {
    const redis = startProcess('redis-server', 'redis-server', ['--port', String(port('redis')), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      logFile: join(workDir, 'redis.log'),
    });
    processes.push(redis);
    await waitUntilReady(redis, () => portOpen('127.0.0.1', port('redis')));

    await writeFile(
      join(workDir, 'livekit.yaml'),
      [
        `port: ${port('http')}`,
        'bind_addresses: ["127.0.0.1"]',
        'rtc:',
        `  tcp_port: ${port('rtcTcp')}`,
        `  udp_port: ${port('rtcUdp')}`,
        '  use_external_ip: false',
        '  node_ip: 127.0.0.1',
        'redis:',
        `  address: 127.0.0.1:${port('redis')}`,
        'keys:',
        `  ${apiKey}: ${apiSecret}`,
        'webhook:',
        `  api_key: ${apiKey}`,
        `  urls: ["${webhooks.url}"]`,
        'logging:',
        '  level: info',
        '',
      ].join('\n'),
    );
    const server = startProcess('livekit-server', realBinary('livekit-server'), ['--config', join(workDir, 'livekit.yaml')], { logFile: join(workDir, 'livekit-server.log') });
    processes.push(server);
    const url = `http://127.0.0.1:${port('http')}`;
    await waitUntilReady(server, () => httpOk(url));

    if (options.egress ?? true) {
      const egress = startProcess('egress-standin', realBinary('egress-standin'), ['-redis', `127.0.0.1:${port('redis')}`, '-ws-url', `ws://127.0.0.1:${port('http')}`], {
        logFile: join(workDir, 'egress-standin.log'),
        env: { ...process.env, LIVEKIT_API_KEY: apiKey, LIVEKIT_API_SECRET: apiSecret },
      });
      processes.push(egress);
      await waitUntilReady(egress, async () => (await egress.tail(5)).includes('egress stand-in ready'));
    }

    let phoneAddress: string | undefined;
    if (withSip) {
      await writeFile(
        join(workDir, 'livekit-sip.yaml'),
        [
          `api_key: ${apiKey}`,
          `api_secret: ${apiSecret}`,
          `ws_url: ws://127.0.0.1:${port('http')}`,
          'redis:',
          `  address: 127.0.0.1:${port('redis')}`,
          `sip_port: ${port('sip')}`,
          `sip_port_listen: ${port('sip')}`,
          `rtp_port: ${port('sipRtpFirst')}-${port('sipRtpFirst') + rtpPorts - 1}`,
          `health_port: ${port('sipHealth')}`,
          'use_external_ip: false',
          'listen_ip: 127.0.0.1',
          'nat_1_to_1_ip: 127.0.0.1',
          // livekit-sip refuses new calls ("unavailable") while the machine's CPU is above this share;
          // on a 2-core test machine running Chromium and the whole stack that would be most of the time.
          'max_cpu_utilization: 1.0',
          'logging:',
          '  level: info',
          '',
        ].join('\n'),
      );
      await startSip();

      const scenario = join(workDir, 'phone.xml');
      // The keypad patterns of the test-number table, as RFC 2833 captures the phone plays.
      for (const row of TEST_NUMBERS) {
        if (row.keypad) await writeFile(join(workDir, keypadPcapFile(row.suffix)), dtmfPcap(repeatedPresses(row.keypad.digit, row.keypad)));
      }
      await writeFile(scenario, sippPhoneScenario({ pcapDir: options.sippPcapDir ?? '/usr/share/sip-tester', keypadPcapDir: workDir, ...(options.phoneScript ? { defaultScript: options.phoneScript } : {}) }));
      const phone = startProcess(
        'sipp',
        'sipp',
        ['-sf', scenario, '-i', '127.0.0.1', '-p', String(port('phone')), '-mi', '127.0.0.1', '-mp', String(port('phoneMedia')), '-rtp_echo', '-aa', '-nostdin', '-trace_err'],
        { logFile: join(workDir, 'sipp.log'), cwd: workDir },
      );
      processes.push(phone);
      phoneAddress = `127.0.0.1:${port('phone')}`;
      // SIPp is ready once it has its SIP port; nothing answers on UDP, so give it a moment and check it lives.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await waitUntilReady(phone, async () => true);
    }

    const sipClient = new SipClient(url, apiKey, apiSecret);
    return {
      url,
      wsUrl: url.replace(/^http/, 'ws'),
      apiKey,
      apiSecret,
      webhooks,
      phoneAddress,
      versions: realVersions(),
      workDir,
      async stopSip() {
        await sip?.stop();
      },
      startSip,
      async createTrunk(address, trunkOptions) {
        const to = address ?? phoneAddress;
        if (!to) throw new Error('no SIP phone in this stack: start it with sip: true or name an address');
        const trunk = await sipClient.createSipOutboundTrunk(`facesign test trunk to ${to}`, to, ['+10000000000'], {
          transport: trunkOptions?.transport === 'tcp' ? SIPTransport.SIP_TRANSPORT_TCP : SIPTransport.SIP_TRANSPORT_UDP,
        });
        return trunk.sipTrunkId;
      },
      serverLog: () => readFile(join(workDir, 'livekit-server.log'), 'utf8'),
      pids: () => Object.fromEntries(processes.filter((p) => p.exited === undefined && p.pid !== undefined).map((p) => [p.name, p.pid!])),
      async logs(lines = 20) {
        const parts = await Promise.all(processes.map(async (p) => `--- ${p.name} (${p.logFile}) ---\n${await p.tail(lines)}`));
        return parts.join('\n');
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

