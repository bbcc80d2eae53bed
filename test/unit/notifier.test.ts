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
    expect(renderMessage({ to: '+8613800000000', locale: 'zh-CN', template: 'otp', params: { code: '123456', minutes: '5' } })).toContain('验证码是 123456');
    expect(renderMessage({ to: '+14155550100', locale: 'en', template: 'otp', params: { code: '123456', minutes: '5' } })).toContain('code is 123456');
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
