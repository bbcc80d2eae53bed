// The SIPp "phone" that real livekit-sip calls in the real-LiveKit tier and the demo. It is a SIPp
// UAS scenario generated from the simulator's test-number table (dev/livekit-sim/sip-scripts.ts), so a
// number such as +1 202 555 0120 is busy on the simulator and on SIPp alike, with the same timings.
// Each row becomes one branch of the scenario: the INVITE's To header selects it.
//
// Print it to run SIPp by hand: `npx tsx dev/real-livekit/sipp-phone.ts > phone.xml`, then
// `sipp -sf phone.xml -i 127.0.0.1 -p 5090 -mi 127.0.0.1 -mp 16000 -rtp_echo`.
import { IMMEDIATE_FAILURE_AFTER_SECONDS, RINGING_STARTS_AFTER_SECONDS, TEST_NUMBER_PREFIX, TEST_NUMBERS, DEFAULT_SCRIPT, type PartyScript, type SipStatusLine } from '../livekit-sim/sip-scripts.js';

export interface SippPhoneOptions {
  /** Folder holding SIPp's RFC 2833 DTMF captures (dtmf_2833_<digit>.pcap), for rows that press digits. */
  pcapDir: string;
  /** Folder where the captures of rows with a keypad pattern are written (keypadPcapFile). */
  keypadPcapDir?: string;
  /** What a number outside the test-number table does (default: DEFAULT_SCRIPT, answers after 2 s). */
  defaultScript?: PartyScript;
}

/** The capture a row with a keypad pattern plays (written by the stack with dtmf-pcap.ts). */
export const keypadPcapFile = (suffix: string): string => `keypad_${suffix}.pcap`;

const ms = (seconds: number) => Math.max(1, Math.round(seconds * 1000));

// Picks up with PCMU and RFC 2833 telephone events; media goes to SIPp's echo port (-rtp_echo), so
// the caller hears back what it sends: audio flows both ways.
const SDP = `v=0
o=phone 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=sendrecv
`;

// Responses to the INVITE. The To tag is fixed per call, so every response of one call carries the same.
const response = (status: string, options: { headers?: string[] | undefined; sdp?: boolean } = {}) => `
  <send${options.sdp ? ' retrans="500"' : ''}><![CDATA[
SIP/2.0 ${status}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]phone[call_number]
[last_Call-ID:]
CSeq: [$invite_cseq] INVITE
Contact: <sip:phone@[local_ip]:[local_port];transport=[transport]>
${(options.headers ?? []).map((h) => `${h}\n`).join('')}${options.sdp ? 'Content-Type: application/sdp\n' : ''}Content-Length: ${options.sdp ? '[len]' : '0'}

${options.sdp ? SDP : ''}]]></send>`;

const finalFailure = (status: SipStatusLine) => `${response(`${status.code} ${status.reason}`, { headers: status.headers })}
  <recv request="ACK" next="end"/>`;

const answer = `${response('200 OK', { sdp: true })}
  <recv request="ACK"/>`;

/** Waits while the phone rings or talks, unless LiveKit gives up (CANCEL) or hangs up (BYE) first. */
const waitRinging = (seconds: number, then: string) => `
  <recv request="CANCEL" timeout="${ms(seconds)}" ontimeout="${then}" next="cancelled"/>`;
const waitTalking = (seconds: number, then: string) => `
  <recv request="BYE" timeout="${ms(seconds)}" ontimeout="${then}" next="bye_received"/>`;

const ringing = response('180 Ringing');

function branch(label: string, script: PartyScript, pcapDir: string, dtmfDigit: string | undefined, keypadPcap?: string): string {
  const step = (n: number) => `${label}_${n}`;
  switch (script.outcome) {
    case 'answer': {
      const rings = script.answerAfterSeconds >= RINGING_STARTS_AFTER_SECONDS;
      const ringPart = rings
        ? `${waitRinging(RINGING_STARTS_AFTER_SECONDS, step(1))}
  <label id="${step(1)}"/>${ringing}${waitRinging(script.answerAfterSeconds - RINGING_STARTS_AFTER_SECONDS, step(2))}`
        : `${waitRinging(script.answerAfterSeconds, step(2))}`;
      // The keypad capture starts as the call is answered and runs alongside the rest (SIPp plays it in a thread).
      const keypadPart = keypadPcap ? `
  <nop><action><exec play_pcap_audio="${keypadPcap}"/></action></nop>` : '';
      const talkPart = dtmfDigit !== undefined
        ? `${waitTalking(1, step(3))}
  <label id="${step(3)}"/>
  <nop><action><exec play_pcap_audio="${pcapDir}/dtmf_2833_${dtmfDigit}.pcap"/></action></nop>
  <recv request="BYE" next="bye_received"/>`
        : script.hangUpAfterSeconds !== undefined
          ? `${waitTalking(Math.max(0.2, script.hangUpAfterSeconds), step(3))}
  <label id="${step(3)}"/>
  <send retrans="500"><![CDATA[
BYE [$remote_contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: [$local_party];tag=[pid]phone[call_number]
To: [$remote_party]
[last_Call-ID:]
CSeq: 1 BYE
Max-Forwards: 70
Contact: <sip:phone@[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>
  <recv response="200" next="end"/>`
          : `
  <recv request="BYE" next="bye_received"/>`;
      return `${ringPart}
  <label id="${step(2)}"/>${answer}${keypadPart}${talkPart}`;
    }
    case 'reject':
      if (script.afterSeconds === undefined) {
        return `${waitRinging(IMMEDIATE_FAILURE_AFTER_SECONDS, step(1))}
  <label id="${step(1)}"/>${finalFailure(script.status)}`;
      }
      return `${waitRinging(RINGING_STARTS_AFTER_SECONDS, step(1))}
  <label id="${step(1)}"/>${ringing}${waitRinging(script.afterSeconds - RINGING_STARTS_AFTER_SECONDS, step(2))}
  <label id="${step(2)}"/>${finalFailure(script.status)}`;
    case 'no-answer':
    case 'manual':
      // Rings until LiveKit's ringing timeout cancels the INVITE.
      return `${waitRinging(RINGING_STARTS_AFTER_SECONDS, step(1))}
  <label id="${step(1)}"/>${ringing}
  <recv request="CANCEL" next="cancelled"/>`;
    case 'no-response':
      // Nothing answers: no provisional response, no final one, until LiveKit gives up.
      return `
  <recv request="CANCEL" timeout="120000" ontimeout="end" next="cancelled"/>`;
  }
}

export function sippPhoneScenario(options: SippPhoneOptions): string {
  const rows = TEST_NUMBERS.map((row) => ({
    label: `row_${row.suffix}`,
    suffix: row.suffix,
    script: row.script,
    dtmf: row.dtmfDigit,
    keypadPcap: row.keypad && options.keypadPcapDir ? `${options.keypadPcapDir}/${keypadPcapFile(row.suffix)}` : undefined,
  }));
  const matchers = rows
    .map((row) => `<ereg regexp="${TEST_NUMBER_PREFIX}${row.suffix}@" search_in="hdr" header="To:" check_it="false" assign_to="is_${row.suffix}"/>`)
    .join('\n      ');
  const dispatch = rows.map((row) => `  <nop test="is_${row.suffix}" next="${row.label}"/>`).join('\n');
  const branches = rows.map((row) => `
  <label id="${row.label}"/>${branch(row.label, row.script, options.pcapDir, row.dtmf, row.keypadPcap)}
  <nop next="end"/>`).join('\n');
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Generated by dev/real-livekit/sipp-phone.ts from the simulator's test-number table. -->
<scenario name="facesign test phone">
  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp="CSeq: *([0-9]+)" search_in="msg" check_it="true" assign_to="junk,invite_cseq"/>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="remote_party"/>
      <ereg regexp="[^>]*>" search_in="hdr" header="To:" check_it="true" assign_to="local_party"/>
      <ereg regexp="&lt;([^&gt;]*)&gt;" search_in="hdr" header="Contact:" check_it="true" assign_to="junk,remote_contact"/>
      ${matchers}
    </action>
  </recv>
${dispatch}
  <nop next="row_default"/>
  <label id="row_default"/>${branch('row_default', options.defaultScript ?? DEFAULT_SCRIPT, options.pcapDir, undefined)}
  <nop next="end"/>
${branches}

  <label id="cancelled"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]phone[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>${response('487 Request Terminated')}
  <recv request="ACK" next="end"/>

  <label id="bye_received"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>

  <label id="end"/>
  <nop display="call over"/>
</scenario>
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(sippPhoneScenario({ pcapDir: process.argv[2] ?? '/usr/share/sip-tester' }));
}
