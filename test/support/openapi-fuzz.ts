// A small, seeded request fuzzer driven by an OpenAPI 3.1 document: for each operation it builds
// values that follow the documented schema and then breaks them (wrong types, missing and extra
// fields, boundary numbers, lengths and dates, huge strings, odd unicode, invalid JSON, wrong content
// types, bad path and query parameters). Deterministic for a given seed.

export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
};

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  parameters?: OpenApiParameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  'x-facesign-access'?: unknown;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema> };
}

export interface Operation {
  method: string;
  path: string;
  op: OpenApiOperation;
}

export function operationsOf(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));
}

/** mulberry32: small, fast, good enough to drive a fuzzer reproducibly. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(0, 15).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[this.int(0, 3)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}

// ---- odd values ----------------------------------------------------------------------------------

/** Strings that break parsers, databases, renderers and length checks. */
export const ODD_STRINGS: readonly string[] = [
  '',
  ' ',
  '\t\n\r',
  'null',
  'undefined',
  'true',
  '0',
  '-1',
  'NaN',
  'Infinity',
  '1e309',
  "'; DROP TABLE \"LoanFile\"; --",
  "' OR '1'='1",
  '"; SELECT pg_sleep(5); --',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '{{7*7}}${7*7}',
  '../../../../etc/passwd',
  '%00',
  '\u0000',
  'a\u0000b',
  '\u0001\u0002\u001f\u007f',
  '\ud800',
  '\udfff\ud800',
  '\u202e\u202dRTL',
  '\ufeffBOM',
  '\u200b\u200c\u200d',
  'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
  '𝕿𝖊𝖘𝖙 🏦💸👨‍👩‍👧‍👦',
  '测试姓名',
  'ﷺ',
  '\\',
  '\\u0000',
  '__proto__',
  'constructor',
  '{"$ne":null}',
  '0x7fffffff',
  '2147483648',
  '9223372036854775808',
  '-0',
  '1.7976931348623157e308',
  '0000-00-00T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '0001-01-01T00:00:00Z',
  '2026-02-30T10:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
];

/**
 * Instants at the edges of what the layers below can hold. Well-formed per the document (format
 * date-time), so they reach the handlers: year 0 (PostgreSQL has none), the four-digit end of ISO
 * 8601 (where a deadline computed days later no longer fits), 32-bit time_t's end, JS Date's and
 * PostgreSQL timestamptz's limits (as extended years), and a local time whose UTC is already 10000.
 */
export const BOUNDARY_INSTANTS: readonly string[] = [
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '1899-12-31T23:59:59Z',
  '1969-12-31T23:59:59.999Z',
  '1970-01-01T00:00:00Z',
  '2038-01-19T03:14:08Z',
  '2999-12-31T23:59:59.999Z',
  '9999-12-31T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '9999-12-31T23:00:00-12:00',
  '+275760-09-13T00:00:00.000Z',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-20T00:00:00.000Z',
  '+294277-01-01T00:00:00Z',
  '-004714-11-23T00:00:00Z',
];

/** Calendar dates (format date) at the same edges, plus leap days that do and do not exist. */
export const BOUNDARY_DATES: readonly string[] = ['0000-01-01', '0001-01-01', '1899-12-31', '1970-01-01', '2038-01-19', '2999-12-31', '9999-12-31', '2024-02-29', '2100-02-29', '+275760-09-13', '-004714-11-23'];

export const ODD_NUMBERS: readonly number[] = [0, -0, -1, 1, 0.5, -0.5, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER + 2, 1e21, 1e308, -1e308, Number.MIN_VALUE];

export function longString(rng: Rng): string {
  const size = rng.chance(0.02) ? 300_000 : rng.chance(0.1) ? 65_537 : rng.pick([256, 1_025, 4_097]);
  const unit = rng.pick(['a', '测', '😀', '\u0000', "'", '<']);
  return unit.repeat(Math.ceil(size / unit.length));
}

export function oddValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(0, 9)) {
    case 0:
      return null;
    case 1:
      return rng.pick([true, false]);
    case 2:
      return rng.pick(ODD_NUMBERS);
    case 3:
    case 4:
      return rng.pick(ODD_STRINGS);
    case 5:
      return longString(rng);
    case 6:
      return depth > 2 ? [] : Array.from({ length: rng.int(0, 3) }, () => oddValue(rng, depth + 1));
    case 7:
      return depth > 2 ? {} : { [rng.pick(['__proto__', 'constructor', 'x', '$where', ''])]: oddValue(rng, depth + 1) };
    case 8:
      return nested(rng.int(50, 3_000));
    default:
      return rng.uuid();
  }
}

/** Deeply nested arrays: recursive code (canonical JSON, validators) must not fall over. */
export function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

// ---- values from schemas -----------------------------------------------------------------------

export class SchemaValues {
  constructor(
    private readonly doc: OpenApiDocument,
    private readonly rng: Rng,
    /** Real values for known names (ids that exist), so that valid requests reach the handlers. */
    private readonly known: (name: string) => string | undefined = () => undefined,
  ) {}

  resolve(schema: JsonSchema): JsonSchema {
    let current = schema;
    for (let i = 0; current.$ref && i < 10; i++) {
      const name = current.$ref.replace('#/components/schemas/', '');
      const target = this.doc.components.schemas[name];
      if (!target) throw new Error(`unknown $ref ${current.$ref}`);
      current = target;
    }
    return current;
  }

  /** A value that follows the schema (as far as the document can tell). */
  valid(input: JsonSchema, name = ''): unknown {
    const schema = this.resolve(input);
    const rng = this.rng;
    if (schema.const !== undefined) return schema.const;
    if (schema.enum) return rng.pick(schema.enum);
    const variants = schema.anyOf ?? schema.oneOf;
    if (variants) return this.valid(rng.pick(variants), name);
    const type = Array.isArray(schema.type) ? rng.pick(schema.type.filter((t) => t !== 'null')) : schema.type;
    switch (type) {
      case 'string':
        return this.validString(schema, name);
      case 'integer':
      case 'number': {
        const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
        const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : Math.max(min, 100));
        return rng.pick([min, max, rng.int(min, max)]);
      }
      case 'boolean':
        return rng.chance(0.5);
      case 'array': {
        const count = rng.int(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3));
        return Array.from({ length: count }, () => (schema.items ? this.valid(schema.items, name) : 'x'));
      }
      case 'object':
      default: {
        const out: Record<string, unknown> = {};
        for (const [key, prop] of Object.entries(schema.properties ?? {})) {
          if ((schema.required ?? []).includes(key) || rng.chance(0.6)) out[key] = this.valid(prop, key);
        }
        return out;
      }
    }
  }

  private validString(schema: JsonSchema, name: string): string {
    const rng = this.rng;
    const real = this.known(name);
    if (real !== undefined && rng.chance(0.8)) return real;
    switch (schema.format) {
      case 'uuid':
        return rng.uuid();
      case 'date-time':
        if (rng.chance(0.25)) return rng.pick(BOUNDARY_INSTANTS);
        return new Date(Date.now() + rng.int(-5, 60) * 86_400_000 + rng.int(0, 86_399) * 1000).toISOString();
      case 'date':
        if (rng.chance(0.25)) return rng.pick(BOUNDARY_DATES);
        return new Date(Date.now() + rng.int(0, 3_650) * 86_400_000).toISOString().slice(0, 10);
      case 'email':
        return `fuzz${rng.int(0, 1e6)}@bank.test`;
      default:
        break;
    }
    const byName: Record<string, () => string> = {
      phoneE164: () => `+86138${String(rng.int(0, 99_999_999)).padStart(8, '0')}`,
      timeZone: () => rng.pick(['Asia/Shanghai', 'Europe/Berlin', 'UTC', 'America/New_York']),
      currency: () => rng.pick(['CNY', 'USD', 'EUR']),
      idNumberLast4: () => rng.pick(['123X', '0000', '9999']),
      externalRef: () => `FZ-${rng.int(0, 1e9)}`,
      templateKey: () => rng.pick(['call-default', 'video-default']),
      contractDocumentHash: () => 'ab'.repeat(32),
      amount: () => rng.pick(['1000.00', '1', '9999999999999999.99']),
      'idempotency-key': () => `fz-${rng.int(0, 1e9)}`,
      itemId: () => rng.pick(['consent', 'identity', 'willingness', 'purpose']),
      email: () => `fuzz${rng.int(0, 1e6)}@bank.test`,
      code: () => String(rng.int(0, 999_999)).padStart(6, '0'),
      country: () => rng.pick(['CN', 'DE', 'US']),
    };
    const special = byName[name];
    if (special) return special();
    const min = schema.minLength ?? 1;
    const length = rng.int(min, Math.max(min, Math.min(schema.maxLength ?? 24, 24)));
    return 'fuzz'.concat('x'.repeat(length)).slice(0, length);
  }

  /** A value that breaks the schema, or sits right on (or just past) one of its bounds. */
  invalid(input: JsonSchema, name = ''): unknown {
    const schema = this.resolve(input);
    const rng = this.rng;
    const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    const choice = rng.int(0, 5);
    if (choice === 0) return oddValue(rng);
    if (type === 'string' || schema.enum || schema.format) {
      const options: (() => unknown)[] = [
        () => rng.pick(ODD_STRINGS),
        () => longString(rng),
        () => (schema.maxLength !== undefined ? 'x'.repeat(schema.maxLength + 1) : longString(rng)),
        () => (schema.maxLength !== undefined ? '测'.repeat(schema.maxLength) : 'x'),
        () => (schema.minLength ? 'x'.repeat(schema.minLength - 1) : ''),
        () => (schema.enum ? String(rng.pick(schema.enum)).toLowerCase() + rng.pick(['', ' ', '\u0000']) : rng.pick(ODD_STRINGS)),
        () => (schema.format === 'uuid' ? rng.uuid().toUpperCase().replace(/-/g, rng.pick(['', '_', '--'])) : rng.pick(ODD_STRINGS)),
        () => rng.pick(schema.format === 'date' ? BOUNDARY_DATES : BOUNDARY_INSTANTS),
        () => rng.pick(ODD_NUMBERS),
        () => [this.valid(schema, name)],
        () => ({ value: this.valid(schema, name) }),
      ];
      return rng.pick(options)();
    }
    if (type === 'integer' || type === 'number') {
      const options: (() => unknown)[] = [
        () => rng.pick(ODD_NUMBERS),
        () => (schema.maximum !== undefined ? schema.maximum + rng.pick([1, 0.5, 1e6]) : 2 ** 31),
        () => (schema.minimum !== undefined ? schema.minimum - rng.pick([1, 0.5, 1e6]) : -(2 ** 31) - 1),
        () => String(this.valid(schema, name)),
        () => rng.pick(ODD_STRINGS),
        () => rng.pick([true, null, [], {}]),
      ];
      return rng.pick(options)();
    }
    if (type === 'boolean') return rng.pick(['true', 1, 0, 'yes', null, [], {}]);
    if (type === 'array') {
      const options: (() => unknown)[] = [
        () => Array.from({ length: (schema.maxItems ?? 50) + 1 }, () => (schema.items ? this.valid(schema.items, name) : 1)),
        () => (schema.items ? [this.invalid(schema.items, name)] : [oddValue(rng)]),
        () => this.valid(schema.items ?? {}, name),
        () => Array.from({ length: 5_000 }, (_, i) => (i % 2 === 0 ? i : rng.pick(ODD_STRINGS))),
        () => ({ 0: 'x', length: 1 }),
      ];
      return rng.pick(options)();
    }
    // Objects: mutate one field, drop a required one, add unknown ones, or replace the whole.
    const base = this.valid(schema, name);
    const obj = typeof base === 'object' && base !== null && !Array.isArray(base) ? { ...(base as Record<string, unknown>) } : {};
    const keys = Object.keys(schema.properties ?? {});
    switch (rng.int(0, 4)) {
      case 0: {
        const key = keys.length > 0 ? rng.pick(keys) : 'x';
        obj[key] = schema.properties?.[key] ? this.invalid(schema.properties[key], key) : oddValue(rng);
        return obj;
      }
      case 1: {
        const required = schema.required ?? [];
        if (required.length > 0) delete obj[rng.pick(required)];
        else obj.unexpected = oddValue(rng);
        return obj;
      }
      case 2:
        for (let i = 0; i < rng.int(1, 50); i++) obj[`extra${i}`] = oddValue(rng);
        obj.__proto__extra = { polluted: true };
        return obj;
      case 3:
        return rng.pick([[], 'string', 0, true, null, [obj]]);
      default: {
        for (const key of keys) if (rng.chance(0.5)) obj[key] = this.invalid(schema.properties![key]!, key);
        return obj;
      }
    }
  }
}

/** Bodies that are not what any JSON route expects: broken JSON, other encodings, odd roots. */
export function rawJsonBody(rng: Rng): string {
  return rng.pick([
    '',
    '{',
    '{"a":',
    '{"a" 1}',
    "{'a': 1}",
    '[1,2,',
    'nul',
    'null',
    'true',
    '0',
    '"string"',
    '[]',
    '{"a":1,"a":2}',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"admin":true}}}',
    '\ufeff{}',
    '{"a":"\\ud800"}',
    '{"a":"\\u0000"}',
    `{"a":${'1'.repeat(400)}}`,
    `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
    `{"a":${'['.repeat(100_000)}`,
    '{}garbage',
    'NaN',
    '{"a":NaN}',
    '{"a":Infinity}',
    '\u0000\u0001\u0002',
    '<?xml version="1.0"?><a/>',
    'a=1&b=2',
  ]);
}

/** A header value Node will send: UTF-8 bytes read as Latin-1, control characters replaced. */
export function headerValue(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1').replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}

/** Percent-encodes the UTF-8 bytes of any string (encodeURIComponent throws on lone surrogates). */
export function encode(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** Percent-encodes a path segment; sometimes leaves it deliberately broken. */
export function pathSegment(rng: Rng, value: string): string {
  if (rng.chance(0.1)) return rng.pick(['%', '%zz', '%E0%A4%A', '%C0%AF', '..', '.', '%2e%2e', '%2F', '%00', '%ff%fe']);
  return encode(value);
}
