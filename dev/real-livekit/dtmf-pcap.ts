// Writes a pcap of RFC 2833 (RFC 4733) telephone-event RTP packets: the keypad presses a SIPp phone
// plays with `play_pcap_audio`. SIPp takes the RTP payloads and their relative timing from the capture
// and sends them to the caller's media address, so only the RTP part and the packet times matter; the
// Ethernet, IP and UDP headers are there because the pcap format needs them. Each press is shaped like
// SIPp's own dtmf_2833_<digit>.pcap: packets every 20 ms with a growing duration, then three "end"
// packets, all with the timestamp of the press, payload type 101, 8 kHz clock.

export interface KeyPress {
  digit: string;
  /** Seconds from the start of the capture. */
  atSeconds: number;
}

const EVENT_CODES: Record<string, number> = { '*': 10, '#': 11 };
const PAYLOAD_TYPE = 101;
const CLOCK_HZ = 8000;
const PACKET_MS = 20;
/** Packets while the key is held (140 ms) before the three end packets. */
const HELD_PACKETS = 7;

export function eventCode(digit: string): number {
  if (/^[0-9]$/.test(digit)) return Number(digit);
  const code = EVENT_CODES[digit];
  if (code === undefined) throw new Error(`not a keypad digit: ${digit}`);
  return code;
}

/** Presses of one digit every `everySeconds`, from `startSeconds` until `untilSeconds`. */
export function repeatedPresses(digit: string, options: { startSeconds: number; everySeconds: number; untilSeconds: number }): KeyPress[] {
  const presses: KeyPress[] = [];
  for (let t = options.startSeconds; t < options.untilSeconds; t += options.everySeconds) presses.push({ digit, atSeconds: Math.round(t * 1000) / 1000 });
  return presses;
}

export function dtmfPcap(presses: readonly KeyPress[]): Buffer {
  const packets: { timeUs: number; rtp: Buffer }[] = [];
  let seq = 1000;
  const ssrc = 0x0fac_e516;
  for (const press of [...presses].sort((a, b) => a.atSeconds - b.atSeconds)) {
    const code = eventCode(press.digit);
    const startUs = Math.round(press.atSeconds * 1_000_000);
    const timestamp = (8000 + Math.round(press.atSeconds * CLOCK_HZ)) >>> 0;
    const rtp = (marker: boolean, end: boolean, duration: number, sequence: number) => {
      const b = Buffer.alloc(16);
      b[0] = 0x80; // version 2
      b[1] = (marker ? 0x80 : 0) | PAYLOAD_TYPE;
      b.writeUInt16BE(sequence & 0xffff, 2);
      b.writeUInt32BE(timestamp, 4);
      b.writeUInt32BE(ssrc, 8);
      b[12] = code;
      b[13] = (end ? 0x80 : 0) | 10; // E bit, volume -10 dBm0
      b.writeUInt16BE(duration, 14);
      return b;
    };
    for (let i = 0; i < HELD_PACKETS; i += 1) {
      packets.push({ timeUs: startUs + i * PACKET_MS * 1000, rtp: rtp(i === 0, false, (i + 1) * (CLOCK_HZ / 1000) * PACKET_MS, seq) });
      seq += 1;
    }
    // The end packet is sent three times with one sequence number (RFC 4733 2.5.1.4).
    const endDuration = (HELD_PACKETS + 1) * (CLOCK_HZ / 1000) * PACKET_MS;
    for (let i = 0; i < 3; i += 1) packets.push({ timeUs: startUs + HELD_PACKETS * PACKET_MS * 1000 + i * 40, rtp: rtp(false, true, endDuration, seq) });
    seq += 1;
  }

  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16); // snap length
  header.writeUInt32LE(1, 20); // Ethernet
  const base = 1_700_000_000;
  const records = packets.map(({ timeUs, rtp }) => {
    const frame = Buffer.concat([ethernetIpUdp(rtp.length), rtp]);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(base + Math.floor(timeUs / 1_000_000), 0);
    record.writeUInt32LE(timeUs % 1_000_000, 4);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    return Buffer.concat([record, frame]);
  });
  return Buffer.concat([header, ...records]);
}

/** Loopback addresses and ports: SIPp replaces them with the call's media addresses. */
function ethernetIpUdp(payloadLength: number): Buffer {
  const b = Buffer.alloc(42);
  b.writeUInt16BE(0x0800, 12); // IPv4
  b[14] = 0x45;
  b.writeUInt16BE(20 + 8 + payloadLength, 16);
  b[22] = 64; // TTL
  b[23] = 17; // UDP
  b.set([127, 0, 0, 1], 26);
  b.set([127, 0, 0, 1], 30);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 24);
  b.writeUInt16BE(49_176, 34);
  b.writeUInt16BE(10_000, 36);
  b.writeUInt16BE(8 + payloadLength, 38);
  return b;
}
