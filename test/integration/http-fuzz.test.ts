// Fuzzes every operation of /api/openapi.json over real HTTP: at least 10,000 malformed and boundary
// requests (seeded, so a failure replays with FUZZ_SEED), without credentials, with staff cookies
// (right, missing or wrong CSRF token) and with an API key. Whatever arrives, the server must answer
// below 500, and every error must be application/problem+json carrying a documented code. Then every
// date and date-time field gets each boundary date in an otherwise well-formed, authorised request.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../server/shared/errors.js';
import { issueLink } from '../../server/auth/borrower-links.service.js';
import { verifySealedChain } from '../support/audit.js';
import type { ApiClient } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { ALWAYS_OPEN, loanFileWithBorrower, scheduleCall } from '../support/verification.js';
import {
  BOUNDARY_DATES,
  BOUNDARY_INSTANTS,
  encode,
  headerValue,
  longString,
  ODD_STRINGS,
  operationsOf,
  pathSegment,
  rawJsonBody,
  Rng,
  SchemaValues,
  type JsonSchema,
  type OpenApiDocument,
  type Operation,
} from '../support/openapi-fuzz.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const TOTAL_REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_400);
const CONCURRENCY = 8;
const ROLES = ['ADMIN', 'SUPERVISOR', 'AGENT', 'AUDITOR'] as const;
type Role = (typeof ROLES)[number];
const PASSWORD = 'correct horse battery staple';
const emailOf = (role: Role) => `fuzz-${role.toLowerCase()}@bank.test`;

let t: TestApp;
let doc: OpenApiDocument;
const staff = {} as Record<Role, ApiClient>;
let apiKey: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestApp({ ...ALWAYS_OPEN, LOG_LEVEL: 'warn' }, { livekit: true });
  for (const role of ROLES) staff[role] = await t.signIn({ email: emailOf(role), password: PASSWORD, roles: [role], skills: ['fuzz'], languages: ['zh-CN', 'en'] });
  const key = await staff.ADMIN.post<{ key: string }>('/api/api-keys', { name: 'fuzz LOS', scopes: ['loan-files:read', 'loan-files:write', 'sessions:read', 'sessions:write'] });
  apiKey = key.body.key;
  const los = t.client().withApiKey(apiKey);
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'fuzz' });
  ids.loanFileId = loanFileId;
  ids.partyId = partyId;
  ids.sessionId = await scheduleCall(los, loanFileId, partyId, { notBefore: new Date(Date.now() + 30 * 86_400_000).toISOString() });
  const video = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date(Date.now() + 2 * 86_400_000).toISOString() });
  ids.videoSessionId = video.body.id;
  ids.linkToken = await t.facesign.db.$transaction((tx) => issueLink(tx, video.body.id, 86_400_000));
  ids.agentId = (await staff.AGENT.get<{ id: string }>('/api/auth/me')).body.id;
  doc = (await t.client().get<OpenApiDocument>('/api/openapi.json')).body;
}, 120_000);
afterAll(async () => t?.stop());

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  kind: string;
  /** A staff cookie, attached when sent (a console user may have signed out and in again meanwhile). */
  session?: { role: Role; csrf: 'right' | 'missing' | 'wrong'; wrongToken?: string };
}

interface FuzzResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/**
 * One request. A keep-alive socket the server closed as idle just as it was reused fails with
 * ECONNRESET before the server saw anything: Node documents retrying exactly that case, once.
 */
async function send(base: URL, request: FuzzRequest): Promise<FuzzResponse> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await sendOnce(base, request);
    } catch (error) {
      if (!(error as { reusedSocket?: boolean }).reusedSocket || (error as NodeJS.ErrnoException).code !== 'ECONNRESET' || attempt >= 3) throw error;
    }
  }
}

function sendOnce(base: URL, request: FuzzRequest): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: base.hostname, port: base.port, method: request.method, path: request.path, headers: request.headers, agent, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${request.method} ${request.path.slice(0, 120)}`)));
    req.on('error', (error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
    req.end(request.body);
  });
}

/** Real ids for a parameter name, so that well-formed requests reach the handlers and the database. */
function knownFor(op: Operation): (name: string) => string | undefined {
  return (name) => {
    if (name === 'id') {
      if (op.path.startsWith('/api/loan-files/')) return ids.loanFileId;
      if (op.path.startsWith('/api/sessions/')) return op.path.includes('captures') ? ids.videoSessionId : ids.sessionId;
      return undefined;
    }
    if (name === 'partyId') return ids.partyId;
    if (name === 'token') return ids.linkToken;
    if (name === 'agentId') return ids.agentId;
    return undefined;
  };
}

const ODD_HEADER_VALUES = ['', ' ', 'null', '\t', "'; DROP TABLE \"User\"; --", '<script>', 'a'.repeat(8_000), '\u00e9\u00ff', '%00', '../..', '0', '-1', '1e999', 'bytes=0-', 'bytes=-1', 'bytes=5-1', 'bytes=0-1,2-3'];

function buildRequest(rng: Rng, op: Operation, values: SchemaValues): FuzzRequest {
  const headers: Record<string, string> = {};
  const kinds: string[] = [];
  let mode = rng.pick(['valid', 'valid', 'body', 'body', 'body', 'raw', 'ctype', 'path', 'path', 'query', 'headers'] as const);
  // A well-formed login costs a password hash (scrypt, ~100 ms of CPU): keep those to a few dozen.
  if (op.path === '/api/auth/login' && mode !== 'body' && mode !== 'raw' && rng.chance(0.8)) mode = 'body';
  kinds.push(mode);

  // Path parameters.
  let path = op.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
    const param = op.op.parameters?.find((p) => p.in === 'path' && p.name === name);
    if (mode === 'path' && rng.chance(0.8)) {
      const bad = rng.pick([
        () => rng.pick(ODD_STRINGS),
        () => longString(rng).slice(0, rng.pick([129, 1_000, 7_000])),
        () => rng.uuid().toUpperCase(),
        () => `${rng.uuid()}x`,
        () => rng.uuid().slice(0, 35),
        () => 'not-a-uuid',
        () => '00000000-0000-0000-0000-000000000000',
      ])();
      return pathSegment(rng, String(bad));
    }
    return encode(String(param ? values.valid(param.schema, name) : rng.uuid()));
  });

  // Query string.
  const query: string[] = [];
  for (const param of op.op.parameters?.filter((p) => p.in === 'query') ?? []) {
    if (!param.required && !rng.chance(0.5)) continue;
    const value = mode === 'query' && rng.chance(0.7) ? values.invalid(param.schema, param.name) : values.valid(param.schema, param.name);
    query.push(`${encode(param.name)}=${encode(typeof value === 'string' ? value : JSON.stringify(value) ?? '')}`);
  }
  if (mode === 'query') {
    const extra = rng.pick([
      () => 'limit=1e309&limit=2',
      () => 'status[]=NEW&status[]=FAILED',
      () => 'a[b][c][d][e][f][g]=1',
      () => `cursor=${encode(longString(rng).slice(0, 5_000))}`,
      () => 'limit=-1&include=payload&include=payload',
      () => `${'x'.repeat(3_000)}=1`,
      () => 'kind[__proto__]=FACE&kind=FACE',
      () => Array.from({ length: 1_200 }, (_, i) => `p${i}=${i}`).join('&'),
      () => '%zz=%zz&&=&=x',
      () => `createdFrom=${encode(rng.pick(ODD_STRINGS))}&createdTo=0`,
    ])();
    query.push(extra);
  }
  if (query.length > 0) path += `?${query.join('&')}`;

  // Credentials.
  let session: FuzzRequest['session'];
  const auth = rng.pick(['none', 'cookie', 'cookie', 'cookie', 'apiKey', 'apiKey', 'garbage'] as const);
  kinds.push(auth);
  if (auth === 'cookie') {
    // Mostly a role the operation admits, so that the request gets past the door.
    const access = op.op['x-facesign-access'] as { roles?: readonly Role[] | 'any' } | undefined;
    const admitted: readonly Role[] = access && Array.isArray(access.roles) && access.roles.length > 0 ? access.roles : ROLES;
    const role = rng.chance(0.75) ? rng.pick(admitted) : rng.pick(ROLES);
    const csrf = rng.pick(['right', 'right', 'right', 'right', 'missing', 'wrong'] as const);
    session = { role, csrf, wrongToken: rng.pick(['forged', '', 'a'.repeat(500), '(almost right)']) };
  } else if (auth === 'apiKey') {
    headers.authorization = `Bearer ${apiKey}`;
  } else if (auth === 'garbage') {
    const garbage = rng.pick([
      () => ({ authorization: rng.pick(['Bearer', 'Bearer ', `Bearer ${apiKey.slice(0, -2)}`, 'Basic YWRtaW46YWRtaW4=', `Bearer fsk_${'0'.repeat(16)}_${'a'.repeat(43)}`, `Bearer ${'x'.repeat(7_000)}`, 'Bearer fsk_\u00e9']) }),
      () => ({ cookie: rng.pick(['fs_session=', 'fs_session=%zz', `fs_session=${'a'.repeat(4_000)}`, 'fs_session=x; fs_session=y', '=;;=;', 'fs_session="quoted"']) }),
      () => {
        // Both credentials at once, without the CSRF token.
        session = { role: 'ADMIN', csrf: 'missing' };
        return { authorization: `Bearer ${apiKey}` };
      },
    ])();
    Object.assign(headers, garbage);
  }

  // Client address: mostly spread (so that per-address rate limits do not hide deeper paths), sometimes odd.
  if (rng.chance(0.85)) headers['x-forwarded-for'] = `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  else if (rng.chance(0.5)) headers['x-forwarded-for'] = rng.pick(['garbage', '::1, 999.999.1.1', ', ,', '10.0.0.1'.repeat(500), 'unknown']);

  // Other headers the API reads.
  for (const param of op.op.parameters?.filter((p) => p.in === 'header') ?? []) {
    if (mode === 'headers' || rng.chance(0.3)) headers[param.name] = mode === 'headers' ? rng.pick(ODD_HEADER_VALUES) : String(values.valid(param.schema, param.name));
  }
  if (mode === 'headers') {
    const name = rng.pick(['x-party-token', 'x-request-id', 'range', 'idempotency-key', 'accept', 'if-none-match', 'origin', 'content-encoding']);
    headers[name] = rng.pick(ODD_HEADER_VALUES);
  } else if (op.path.startsWith('/api/join/') && rng.chance(0.5)) {
    headers['x-party-token'] = rng.pick(['', 'guess', 'A'.repeat(43), longString(rng).slice(0, 2_000)]);
  }

  // Body.
  const media = op.op.requestBody ? Object.keys(op.op.requestBody.content) : [];
  if (media.includes('application/json')) {
    const schema = op.op.requestBody!.content['application/json']!.schema;
    if (mode === 'raw') {
      headers['content-type'] = 'application/json';
      return finish(rawJsonBody(rng));
    }
    let body = mode === 'body' ? values.invalid(schema) : values.valid(schema);
    // A login that passes validation costs a password hash: most fuzzed logins break the e-mail field.
    if (op.path === '/api/auth/login' && mode === 'body' && rng.chance(0.85) && typeof body === 'object' && body !== null && !Array.isArray(body)) {
      body = { ...body, email: rng.pick([12345, null, '', 'ab', 'x'.repeat(255), ['fuzz@bank.test'], { $ne: null }, true]) };
    }
    const text = JSON.stringify(body) ?? 'null';
    headers['content-type'] =
      mode === 'ctype'
        ? rng.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/xml', 'application/merge-patch+json', '', 'application/json, text/html', 'APPLICATION/JSON'])
        : 'application/json';
    if (mode === 'ctype' && rng.chance(0.3)) headers['content-encoding'] = rng.pick(['gzip', 'deflate', 'br', 'x-unknown', 'identity']);
    if (headers['content-type'] === '') delete headers['content-type'];
    return finish(text);
  }
  if (media.some((m) => m.startsWith('image/'))) {
    headers['content-type'] = rng.pick(['image/png', 'image/jpeg', 'application/json', 'text/plain', 'image/gif', 'image/svg+xml']);
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const bytes = rng.pick([
      () => Buffer.alloc(0),
      () => Buffer.concat([png, Buffer.alloc(rng.int(0, 64))]),
      () => Buffer.from('<svg onload="alert(1)"/>'),
      () => Buffer.from(Array.from({ length: rng.int(1, 4_096) }, () => rng.int(0, 255))),
    ])();
    if (rng.chance(0.1)) headers['content-encoding'] = 'gzip';
    return finish(rng.chance(0.03) ? Buffer.alloc(6 * 1024 * 1024, 0xff) : bytes);
  }
  // No body documented: sometimes send one anyway.
  if (rng.chance(0.3)) {
    headers['content-type'] = rng.pick(['application/json', 'text/plain']);
    return finish(rng.chance(0.5) ? rawJsonBody(rng) : JSON.stringify(values.invalid({ type: 'object' })));
  }
  return finish(undefined);

  function finish(body: string | Buffer | undefined): FuzzRequest {
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    for (const [name, value] of Object.entries(headers)) headers[name] = headerValue(value);
    return { method: op.method, path, headers, body, kind: kinds.join('+'), ...(session ? { session } : {}) };
  }
}

interface Violation {
  op: string;
  kind: string;
  status: number;
  contentType: string;
  problem: string;
  request: string;
  response: string;
}

function check(op: Operation, response: FuzzResponse): string | undefined {
  // Readiness answers 503 with its own documented body when a dependency is slow or down.
  if (op.path === '/readyz' && response.status === 503) return /"status":"not_ready"/.test(response.text) ? undefined : 'readiness 503 without its body';
  if (response.status >= 500) return '5xx';
  if (response.headers['x-content-type-options'] !== 'nosniff') return 'no nosniff header';
  if (response.status < 400) return undefined;
  const contentType = String(response.headers['content-type'] ?? '');
  if (!contentType.startsWith('application/problem+json')) return 'error is not problem+json';
  let problem: { code?: string; status?: number; type?: string; title?: string; detail?: string };
  try {
    problem = JSON.parse(response.text) as typeof problem;
  } catch {
    return 'problem body is not JSON';
  }
  const documented = problem.code !== undefined ? ERROR_CODES[problem.code as keyof typeof ERROR_CODES] : undefined;
  if (!documented) return `undocumented code ${String(problem.code)}`;
  if (documented.status !== response.status || problem.status !== response.status) return `code ${problem.code} with status ${response.status}`;
  if (typeof problem.type !== 'string' || typeof problem.title !== 'string' || typeof problem.detail !== 'string') return 'incomplete problem';
  return undefined;
}

describe('HTTP fuzzing from the OpenAPI document', () => {
  it(`answers ${TOTAL_REQUESTS} malformed and boundary requests across every operation without a 5xx, errors always problem+json`, async () => {
    const operations = operationsOf(doc);
    expect(operations.length).toBeGreaterThanOrEqual(50);
    // Operations without parameters or a body have little to break: they get a third of the share.
    const weight = (op: Operation) => ((op.op.parameters?.length ?? 0) > 0 || op.op.requestBody ? 1 : 1 / 3);
    const totalWeight = operations.reduce((sum, op) => sum + weight(op), 0);
    const rng = new Rng(SEED);
    const plan: { op: Operation; request: FuzzRequest }[] = [];
    for (const op of operations) {
      const values = new SchemaValues(doc, rng, knownFor(op));
      for (let i = 0; i < Math.ceil((TOTAL_REQUESTS * weight(op)) / totalWeight); i++) plan.push({ op, request: buildRequest(rng, op, values) });
    }
    // Interleave operations, so that state changed by one (a cancelled session, a revoked cookie) meets the others.
    for (let i = plan.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }

    const base = new URL(t.url);
    const counts = new Map<string, Map<number, number>>();
    const histogram = new Map<number, number>();
    const violations: Violation[] = [];
    const byAuth = new Map<string, Map<number, number>>();
    let next = 0;
    let sent = 0;
    const started = Date.now();
    const worker = async () => {
      for (let index = next++; index < plan.length; index = next++) {
        const { op, request } = plan[index]!;
        const name = `${op.method} ${op.path}`;
        let response: FuzzResponse;
        try {
          response = await send(base, withSession(request));
        } catch (error) {
          violations.push({ op: name, kind: request.kind, status: 0, contentType: '', problem: `transport: ${(error as Error).message}`, request: request.path.slice(0, 200), response: '' });
          continue;
        }
        sent += 1;
        const authKind = request.kind.split('+')[1] ?? '?';
        const ak = byAuth.get(authKind) ?? new Map<number, number>();
        ak.set(response.status, (ak.get(response.status) ?? 0) + 1);
        byAuth.set(authKind, ak);
        const byStatus = counts.get(name) ?? new Map<number, number>();
        byStatus.set(response.status, (byStatus.get(response.status) ?? 0) + 1);
        counts.set(name, byStatus);
        histogram.set(response.status, (histogram.get(response.status) ?? 0) + 1);
        const problem = check(op, response);
        if (problem) {
          violations.push({
            op: name,
            kind: request.kind,
            status: response.status,
            contentType: String(response.headers['content-type'] ?? ''),
            problem,
            request: `${request.path.slice(0, 200)} ${typeof request.body === 'string' ? request.body.slice(0, 300) : request.body ? `<${request.body.length} bytes>` : ''} ${JSON.stringify({ ...request.headers, cookie: request.headers.cookie ? '…' : undefined }).slice(0, 300)}`,
            response: response.text.slice(0, 300),
          });
        }
        // A signed-out console user signs in again, so the cookie keeps reaching the handlers.
        if (name === 'POST /api/auth/logout' && response.status === 204 && request.session) await reSignIn(request.session.role);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (Date.now() - started) / 1000;

    const rows = [...counts].map(([name, byStatus]) => `${name.padEnd(52)} ${String([...byStatus.values()].reduce((a, b) => a + b, 0)).padStart(4)}  ${[...byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ')}`);
    console.log(
      [
        `HTTP fuzz (seed ${SEED}): ${sent} requests to ${operations.length} operations in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s), ${violations.length} violations`,
        ...[...byAuth].map(([k, m]) => `  ${k}: ${[...m].sort(([a], [b]) => a - b).map(([st, n]) => `${st}:${n}`).join(' ')}`),
        `status histogram: ${[...histogram].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ')}`,
        ...rows,
      ].join('\n'),
    );
    if (violations.length > 0) console.log(JSON.stringify(violations.slice(0, 25), null, 2));

    expect(violations.slice(0, 10)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(10_000);
    // Every operation was exercised, and every one answered something other than an auth error at least once.
    expect(counts.size).toBe(operations.length);
    for (const [name, byStatus] of counts) expect([...byStatus.keys()].some((s) => s !== 401 && s !== 403), name).toBe(true);

    // And the server is still whole: healthy, its tables there, its audit chain intact.
    expect((await t.client().get('/healthz')).status).toBe(200);
    // storage: the tables themselves survived the injection strings
    expect(await t.facesign.db.loanFile.count()).toBeGreaterThan(0);
    expect(await verifySealedChain(t.facesign.db)).toMatchObject({ ok: true });
  }, 900_000);
});

/** The date and date-time fields of an operation: its query parameters and its JSON body's top-level properties. */
function dateFields(op: Operation, values: SchemaValues): { in: 'query' | 'body'; name: string; format: 'date' | 'date-time' }[] {
  const formatOf = (schema: JsonSchema): string | undefined => {
    const resolved = values.resolve(schema);
    return resolved.format ?? (resolved.anyOf ?? resolved.oneOf ?? []).map(formatOf).find(Boolean);
  };
  const isDate = (format: string | undefined): format is 'date' | 'date-time' => format === 'date' || format === 'date-time';
  const out: { in: 'query' | 'body'; name: string; format: 'date' | 'date-time' }[] = [];
  for (const param of op.op.parameters?.filter((p) => p.in === 'query') ?? []) {
    const format = formatOf(param.schema);
    if (isDate(format)) out.push({ in: 'query', name: param.name, format });
  }
  const body = op.op.requestBody?.content['application/json']?.schema;
  for (const [name, prop] of Object.entries(body ? (values.resolve(body).properties ?? {}) : {})) {
    const format = formatOf(prop);
    if (isDate(format)) out.push({ in: 'body', name, format });
  }
  return out;
}

/** Ids a creating request needs fresh each time: a party has one open session of a kind at a time. */
async function freshIds(op: Operation): Promise<Record<string, string>> {
  if (op.method !== 'POST' || op.path !== '/api/loan-files/{id}/sessions') return {};
  const { loanFileId, partyId } = await loanFileWithBorrower(t.client().withApiKey(apiKey), { phone: '+8613805550100', product: 'fuzz' });
  return { id: loanFileId, partyId };
}

let boundaryRefs = 0;

/**
 * A request to the operation with real ids, a credential it admits, the body's required fields and
 * `field` set to `value`. Unique fields (externalRef) are fresh, so each request can create.
 */
function boundaryRequest(op: Operation, values: SchemaValues, base: Record<string, unknown> | undefined, fresh: Record<string, string>, field: { in: 'query' | 'body'; name: string }, value: string): FuzzRequest {
  const known = knownFor(op);
  const path = op.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => encode(fresh[name] ?? known(name) ?? ''));
  const query = (op.op.parameters ?? [])
    .filter((p) => p.in === 'query' && (p.required || p.name === field.name))
    .map((p) => `${encode(p.name)}=${encode(p.name === field.name && field.in === 'query' ? value : String(values.valid(p.schema, p.name)))}`);
  const headers: Record<string, string> = {};
  const access = op.op['x-facesign-access'] as { public?: true; roles?: readonly Role[] | 'any'; apiKeyScope?: string | null } | undefined;
  let session: FuzzRequest['session'];
  if (access?.apiKeyScope) headers.authorization = `Bearer ${apiKey}`;
  else if (access && !access.public) session = { role: Array.isArray(access.roles) && access.roles.length > 0 && !access.roles.includes('ADMIN') ? access.roles[0]! : 'ADMIN', csrf: 'right' };
  let body: string | undefined;
  if (base) {
    const fields: Record<string, unknown> = { ...base, ...Object.fromEntries(Object.entries(fresh).filter(([k]) => k in base)) };
    if ('externalRef' in fields) fields.externalRef = `FZB-${(boundaryRefs += 1)}-${Date.now()}`;
    if (field.in === 'body') fields[field.name] = value;
    body = JSON.stringify(fields);
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return { method: op.method, path: query.length > 0 ? `${path}?${query.join('&')}` : path, headers, body, kind: `boundary ${field.in}.${field.name}=${value}`, ...(session ? { session } : {}) };
}

/** The body's required fields, from the document (values of optional ones would only add noise). */
function requiredFields(op: Operation, values: SchemaValues, fresh: Record<string, string>): Record<string, unknown> | undefined {
  const schema = op.op.requestBody?.content['application/json']?.schema;
  if (!schema) return undefined;
  const resolved = values.resolve(schema);
  return Object.fromEntries((resolved.required ?? []).map((name) => [name, fresh[name] ?? values.valid(resolved.properties?.[name] ?? {}, name)]));
}

describe('boundary dates', () => {
  it('every date and date-time field, at each boundary date, in an otherwise well-formed request answers below 500 (problem+json when refused)', async () => {
    const rng = new Rng(SEED + 1);
    const base = new URL(t.url);
    const violations: { request: string; status: number; problem: string; response: string }[] = [];
    const fields = new Set<string>();
    let sent = 0;
    const exchange = async (op: Operation, request: FuzzRequest) => {
      const response = await send(base, withSession(request));
      sent += 1;
      const problem = check(op, response);
      if (problem) violations.push({ request: `${request.kind}: ${op.method} ${request.path} ${typeof request.body === 'string' ? request.body.slice(0, 200) : ''}`, status: response.status, problem, response: response.text.slice(0, 200) });
      return response;
    };
    for (const op of operationsOf(doc)) {
      const values = new SchemaValues(doc, rng, knownFor(op));
      for (const field of dateFields(op, values)) {
        const name = `${op.method} ${op.path} ${field.in}.${field.name}`;
        fields.add(name);
        // First a body whose other fields pass validation: the same request with an ordinary date must not fail on them.
        const ordinary = field.format === 'date' ? new Date().toISOString().slice(0, 10) : new Date(Date.now() + 86_400_000).toISOString();
        let body: Record<string, unknown> | undefined;
        let wellFormed = false;
        for (let attempt = 0; attempt < 30 && !wellFormed; attempt += 1) {
          const fresh = await freshIds(op);
          body = requiredFields(op, values, fresh);
          const control = await exchange(op, boundaryRequest(op, values, body, fresh, field, ordinary));
          const errors = control.status === 400 ? ((JSON.parse(control.text) as { errors?: { field: string }[] }).errors ?? []) : [];
          wellFormed = errors.every((e) => e.field === field.name);
        }
        if (!wellFormed) violations.push({ request: name, status: 0, problem: 'no well-formed request to carry the boundary dates', response: '' });
        for (const value of field.format === 'date' ? BOUNDARY_DATES : BOUNDARY_INSTANTS) {
          const fresh = await freshIds(op);
          await exchange(op, boundaryRequest(op, values, body && { ...body, ...Object.fromEntries(Object.entries(fresh).filter(([k]) => k in body!)) }, fresh, field, value));
        }
      }
    }
    expect(violations).toEqual([]);
    // The fields that broke before: a maturity date in year 0, a session at the end of year 9999, a search from year 0.
    expect([...fields]).toEqual(expect.arrayContaining(['POST /api/loan-files body.maturityDate', 'PATCH /api/loan-files/{id} body.maturityDate', 'POST /api/loan-files/{id}/sessions body.notBefore', 'GET /api/loan-files query.createdFrom', 'GET /api/review-desk/sessions query.from']));
    expect(sent).toBeGreaterThanOrEqual(fields.size * BOUNDARY_DATES.length);
  }, 300_000);
});

function withSession(request: FuzzRequest): FuzzRequest {
  if (!request.session) return request;
  const client = staff[request.session.role];
  const headers: Record<string, string> = { ...request.headers, cookie: client.cookieHeader() };
  const token = client.csrfToken ?? '';
  if (request.session.csrf === 'right') headers['x-csrf-token'] = token;
  if (request.session.csrf === 'wrong') headers['x-csrf-token'] = request.session.wrongToken === '(almost right)' ? token.slice(0, -1) : (request.session.wrongToken ?? 'x');
  return { ...request, headers };
}

const signingIn = new Map<Role, Promise<void>>();
let relogins = 0;

/** After a fuzzed logout succeeded, the console user signs in again (once, however many workers notice). */
async function reSignIn(role: Role): Promise<void> {
  const pending = signingIn.get(role);
  if (pending) return pending;
  const run = (async () => {
    // From its own address: the fuzzer's own logins must not use up loopback's login rate.
    const res = await staff[role].request<{ csrfToken: string }>('POST', '/api/auth/login', { email: emailOf(role), password: PASSWORD }, { 'x-forwarded-for': `10.254.${ROLES.indexOf(role)}.${(relogins += 1) % 250}` });
    if (res.status !== 200) throw new Error(`could not sign ${role} in again: ${res.status}`);
    staff[role].csrfToken = res.body.csrfToken;
  })();
  signingIn.set(role, run);
  try {
    await run;
  } finally {
    signingIn.delete(role);
  }
}
