import { execFile, spawn } from 'node:child_process';
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

describe('errors', () => {
  it('keeps the stack of an error logged under err, masked like the message', () => {
    const { log, lines } = capture();
    log.warn({ err: new Error('no route to +8613812345678') }, 'reconcile step failed');
    const err = JSON.parse(lines[0]!).err as { message: string; stack: string };
    expect(err.message).toBe('no route to +86*********78');
    expect(err.stack).toMatch(/^Error: no route to \+86\*{9}78\n\s+at /);
    expect(err.stack).toContain('logging.test.ts');
  });

  it('serializes an error through pino with its cause, each with a stack and masked', () => {
    const { log, lines } = capture();
    const cause = Object.assign(new Error('connect ECONNREFUSED for +8613812345678'), { code: 'ECONNREFUSED' });
    log.error({ err: new Error('dial failed', { cause }) }, 'dial step failed');
    type Serialized = { type: string; message: string; stack: string; code?: string; cause?: Serialized };
    const err = JSON.parse(lines[0]!).err as Serialized;
    expect(err).toMatchObject({ type: 'Error', message: 'dial failed', cause: { type: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED for +86*********78' } });
    expect(err.stack).toMatch(/^Error: dial failed\n\s+at /);
    expect(err.cause!.stack).toMatch(/^Error: connect ECONNREFUSED for \+86\*{9}78\n\s+at /);
    expect(lines.join('')).not.toContain('13812345678');
  });

  it('censors secrets where they are logged by path, request headers included', () => {
    const { log, lines } = capture();
    log.info({ req: { method: 'GET', headers: { authorization: 'Bearer fsk_live', cookie: 'sid=abc', 'x-api-key': 'los_key', accept: 'text/html' } }, user: { passphrase: 'p12-pass' } }, 'request');
    const line = JSON.parse(lines[0]!) as { req: { headers: Record<string, string> }; user: { passphrase: string } };
    expect(line.req.headers).toEqual({ authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]', accept: 'text/html' });
    expect(line.user.passphrase).toBe('[redacted]');
  });

  it('logs an unhandled rejection with its stack before the process exits 1', async () => {
    const program = [
      "import { createLogger, logProcessFailures } from './server/logging.ts';",
      "logProcessFailures(createLogger({ level: 'info' }));",
      "Promise.reject(new Error('boom for +8613812345678'));",
    ].join('\n');
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile('npx', ['tsx', '--input-type=module', '-e', program], { cwd: process.cwd() }, (error, out) =>
        resolve({ code: error ? (error as { code?: number }).code ?? null : 0, stdout: out }),
      );
      child.stdin?.end();
    });
    expect(code).toBe(1);
    const line = JSON.parse(stdout.trim().split('\n').at(-1)!) as { level: string; msg: string; err: { message: string; stack: string } };
    expect(line).toMatchObject({ level: 'fatal', msg: 'unhandled promise rejection', err: { message: 'boom for +86*********78' } });
    expect(line.err.stack).toContain('Error: boom for +86*********78');
    expect(stdout).not.toContain('13812345678');
  });
});

describe('standard output', () => {
  it('is written in batches of up to 100 ms, and what is held is written when the process exits', async () => {
    // One line every 5 ms for 40 lines, then one more and an immediate exit.
    const program = [
      "import { createLogger } from './server/logging.ts';",
      'const log = createLogger({ level: "info" });',
      'const started = Date.now();',
      'let n = 0;',
      'const timer = setInterval(() => {',
      '  log.info({ n: n++ }, "line");',
      '  if (n < 40) return;',
      '  clearInterval(timer);',
      '  process.stderr.write(String(Date.now() - started));',
      '  log.info({ n: 40 }, "last");',
      '  process.exit(0);',
      '}, 5);',
    ].join('\n');
    const { chunks, stderr, code } = await new Promise<{ chunks: string[]; stderr: string; code: number | null }>((resolve) => {
      const child = spawn('npx', ['tsx', '--input-type=module', '-e', program], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
      const out: string[] = [];
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('close', (exitCode) => resolve({ chunks: out, stderr: err, code: exitCode }));
    });
    expect(code).toBe(0);
    const lines = chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { n: number; msg: string });
    expect(lines.map((l) => l.n)).toEqual([...Array(41).keys()]);
    expect(lines.at(-1)?.msg).toBe('last');
    // Written a line at a time, 41 lines would be about 41 writes; in batches, one per 100 ms (and one at exit).
    const elapsedMs = Number(/\d+/.exec(stderr)?.[0]);
    expect(chunks.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / 100) + 2);
    expect(chunks.length).toBeLessThan(20);
  });
});
