// Structured JSON logs (pino) with personal data masked before anything is written: names, phone
// numbers, e-mail addresses and secrets never appear in full, whether they arrive as fields or
// inside message strings. Three layers: pino's error serializer turns errors, wherever they are
// logged, into plain objects with their stacks and causes; pino's `redact` censors secrets at the fixed places they are logged
// (request headers, top-level and one-level-nested credential fields); the log formatter then masks
// what paths cannot name: personal data at any depth and inside free text, in messages and stacks.
// The formatter runs before pino's serializers, so it serializes errors itself.
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Where secrets sit in what facesign logs: censored by pino before the formatter sees anything. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  ...['password', 'token', 'secret', 'apiKey', 'otp', 'csrfToken', 'passphrase'].flatMap((key) => [key, `*.${key}`]),
];

const SECRET_KEYS = new Set(['password', 'passwordhash', 'token', 'secret', 'authorization', 'cookie', 'set-cookie', 'apikey', 'otp', 'csrftoken']);
const NAME_KEYS = new Set(['fullname', 'displayname', 'name', 'participantname']);
const PHONE_KEYS = new Set(['phone', 'phonee164', 'phonenumber', 'to', 'from']);
const EMAIL_KEYS = new Set(['email']);
const ID_KEYS = new Set(['idnumberlast4', 'idnumber']);

// E.164 numbers and bare mainland-China mobile numbers, wherever they appear in free text.
const PHONE_IN_TEXT = /\+[1-9]\d{6,14}|(?<![\w.-])1[3-9]\d{9}(?![\w.-])/g;
const EMAIL_IN_TEXT = /[A-Za-z0-9._%+-]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;

/** "+8613812345678" -> "+86*********78": keeps the country prefix and the last two digits. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/[^\d+]/g, '');
  if (digits.length <= 4) return '*'.repeat(digits.length);
  const keepHead = 3;
  return digits.slice(0, keepHead) + '*'.repeat(digits.length - keepHead - 2) + digits.slice(-2);
}

/** "张三丰" -> "张**", "Alice Smith" -> "A**********". */
export function maskName(name: string): string {
  const chars = [...name];
  return chars.length === 0 ? '' : chars[0] + '*'.repeat(chars.length - 1);
}

export function maskEmail(email: string): string {
  return email.replace(EMAIL_IN_TEXT, (whole, domain: string) => `${whole[0] ?? ''}***@${domain}`);
}

export function scrubText(text: string): string {
  return maskEmail(text.replace(PHONE_IN_TEXT, maskPhone));
}

function scrubField(key: string, value: unknown, depth: number): unknown {
  const k = key.toLowerCase();
  if (typeof value === 'string') {
    if (SECRET_KEYS.has(k)) return '[redacted]';
    if (NAME_KEYS.has(k)) return maskName(value);
    if (PHONE_KEYS.has(k)) return maskPhone(value);
    if (EMAIL_KEYS.has(k)) return maskEmail(value);
    if (ID_KEYS.has(k)) return '****';
    return scrubText(value);
  }
  if (SECRET_KEYS.has(k) && value !== undefined && value !== null) return '[redacted]';
  return scrubValue(value, depth + 1);
}

export function scrubValue(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (typeof value === 'string') return scrubText(value);
  // pino's own error serializer (type, message, stack, causes and the error's own fields), then masked.
  if (value instanceof Error) return scrubValue(pino.stdSerializers.errWithCause(value), depth + 1);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  if (value instanceof Date || value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubField(k, v, depth);
  return out;
}

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where lines go; by default standard output in batches (`batchedStdout`). */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

/** How long a log line may wait in memory before it is written to standard output. */
export const LOG_FLUSH_MS = 100;

/**
 * Standard output, written in batches: the lines of up to `flushMs` go out in one write instead of
 * one write each (at a few hundred requests a second, the access log's writes cost the server more
 * than the line itself). A line is never held longer than `flushMs`; whatever is still held when
 * the process exits — normally, on a signal, or after an uncaught error — is written synchronously
 * first. Only a process killed outright (SIGKILL, out of memory) loses up to `flushMs` of lines.
 */
export function batchedStdout(flushMs = LOG_FLUSH_MS): DestinationStream {
  // pino's own asynchronous destination: it retries a busy pipe and flushes synchronously at exit.
  const out = pino.destination({ dest: 1, sync: false });
  let held: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (held.length === 0) return;
    const chunk = held.join('');
    held = [];
    out.write(chunk);
  };
  process.once('exit', () => {
    try {
      flush();
      out.flushSync();
    } catch {
      // Nothing left to tell: standard output is gone.
    }
  });
  return {
    write(line: string) {
      held.push(line);
      if (!timer) {
        timer = setTimeout(flush, flushMs);
        timer.unref();
      }
    },
  };
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: options.base ?? { service: 'facesign' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // The formatter has serialized errors already; pino's default `err` serializer would re-type them.
      serializers: { err: (value: unknown) => value },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => scrubValue(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubText(a) : a)) as Parameters<typeof method>;
          method.apply(this, scrubbed);
        },
      },
    },
    options.destination ?? batchedStdout(),
  );
}

/**
 * Logs what would otherwise end the process with nothing in the logs but a bare stack on stderr (an
 * unhandled rejection or exception), with its stack and personal data masked, then exits with 1.
 */
export function logProcessFailures(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  process.on('unhandledRejection', (reason) => {
    log.fatal({ err: reason }, 'unhandled promise rejection');
    exit(1);
  });
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception');
    exit(1);
  });
}
