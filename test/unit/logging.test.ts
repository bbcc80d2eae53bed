import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, maskName, maskPhone, scrubText } from '../../server/logging.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger({ level: 'info', destination }), lines };
}

describe('PII masking', () => {
  it.each([
    ['+8613812345678', '+86*********78'],
    ['+14155550123', '+14*******23'],
  ])('masks the phone %s', (phone, masked) => {
    expect(maskPhone(phone)).toBe(masked);
  });

  it('masks names to their first character', () => {
    expect(maskName('张三丰')).toBe('张**');
    expect(maskName('Alice')).toBe('A****');
  });

  it('masks phone numbers and e-mail addresses inside free text', () => {
    expect(scrubText('dialling +8613812345678 for li@bank.cn, cn mobile 13912345678'))
      .toBe('dialling +86*********78 for l***@bank.cn, cn mobile 139******78');
  });

  it('leaves ids and timestamps alone', () => {
    const text = 'session 550e8400-e29b-41d4-a716-446655440000 at 2026-11-23T10:00:00.000Z';
    expect(scrubText(text)).toBe(text);
  });

  it('never writes a full phone number or name, whether in fields, nested objects, errors or messages', () => {
    const { log, lines } = capture();
    log.info({ party: { fullName: '王小明', phoneE164: '+8613812345678' }, authorization: 'Bearer fsk_x' }, 'calling +8613812345678');
    log.error({ err: new Error('SIP failed for +8613812345678') }, 'dial failed');
    const out = lines.join('');
    expect(out).not.toContain('13812345678');
    expect(out).not.toContain('王小明');
    expect(out).not.toContain('fsk_x');
    expect(out).toContain('王**');
    expect(JSON.parse(lines[0]!).party.phoneE164).toBe('+86*********78');
  });
});
