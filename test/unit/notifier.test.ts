import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logging.js';
import { LogNotifier, renderMessage } from '../../server/notifications/notifier.js';

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

const token = 'Abc_def-0123456789Abc_def-0123456789Abc_def';

describe('messages to parties', () => {
  it('render in the party\'s language', () => {
    expect(renderMessage({ to: '+8613800000000', locale: 'zh-CN', template: 'otp', params: { code: '123456', minutes: '5' } })).toContain('验证码 123456，用于登录');
    expect(renderMessage({ to: '+14155550100', locale: 'en', template: 'otp', params: { code: '123456', minutes: '5' } })).toMatch(/^123456 is your code to sign in/);
  });

  it('say that the signing code signs the contract, naming the loan and the amount', () => {
    const params = { code: '123456', minutes: '5', loanReference: 'LN-2026-0042', amount: '¥88,000.00' };
    const zh = renderMessage({ to: '+8613800000000', locale: 'zh-CN', template: 'signing_code', params });
    expect(zh).toContain('签约验证码 123456');
    expect(zh).toContain('签署贷款合同（贷款编号 LN-2026-0042，金额 ¥88,000.00）');
    const en = renderMessage({ to: '+14155550100', locale: 'en', template: 'signing_code', params: { ...params, amount: 'CN¥88,000.00' } });
    expect(en).toMatch(/^123456 is your code to sign the loan contract for loan LN-2026-0042, amount CN¥88,000\.00/);
  });

  it('never put a one-time code, a link token or a full phone number into the log outside development', async () => {
    const { log, lines } = capture();
    const notifier = new LogNotifier(log, false);
    await notifier.send({ to: '+8613812345678', locale: 'zh-CN', template: 'otp', params: { code: '987654', minutes: '5' } });
    await notifier.send({ to: '+8613812345678', locale: 'en', template: 'invitation', params: { link: `https://verify.bank.test/join/${token}`, appointment: '24 Nov 10:00' } });
    const out = lines.join('');
    expect(out).not.toContain('987654');
    expect(out).not.toContain(token);
    expect(out).not.toContain('13812345678');
    expect(out).toContain('/join/[redacted]');
  });

  it('show them in development, where the log is how a developer plays the borrower', async () => {
    const { log, lines } = capture();
    await new LogNotifier(log, true).send({ to: '+8613812345678', locale: 'en', template: 'invitation', params: { link: `http://localhost:3000/join/${token}`, appointment: 'now' } });
    expect(lines.join('')).toContain(token);
  });
});
