import { describe, expect, it } from 'vitest';
import { sippPhoneScenario } from '../../dev/real-livekit/sipp-phone.js';

/** The scenario's branch for numbers outside the test-number table. */
function defaultBranch(xml: string): string {
  const start = xml.indexOf('<label id="row_default"/>');
  return xml.slice(start, xml.indexOf('<nop next="end"/>', start));
}

describe('the SIPp phone scenario', () => {
  it('answers other numbers after 2 s and waits for LiveKit to hang up, by default', () => {
    const branch = defaultBranch(sippPhoneScenario({ pcapDir: '/p' }));
    expect(branch).toContain('SIP/2.0 200 OK');
    expect(branch).toContain('timeout="1500"');
    expect(branch).not.toContain('BYE [$remote_contact] SIP/2.0');
  });

  it('follows the script it is given for other numbers (the real dispatch bench: answer after 1 s, hang up after 3 s)', () => {
    const branch = defaultBranch(sippPhoneScenario({ pcapDir: '/p', defaultScript: { outcome: 'answer', answerAfterSeconds: 1, hangUpAfterSeconds: 3 } }));
    expect(branch).toContain('SIP/2.0 200 OK');
    // rings at 0.5 s, answers 0.5 s later, talks 3 s, then hangs up itself
    expect(branch).toContain('timeout="500"');
    expect(branch).toContain('timeout="3000"');
    expect(branch).toContain('BYE [$remote_contact] SIP/2.0');
  });
});
