// The route helper: every endpoint declares who may call it and zod schemas for its params, query,
// body and responses. The same declaration drives request validation, response validation and the
// OpenAPI document, so the contract cannot drift from the code.
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { AppError, validationError, type FieldError } from '../shared/errors.js';
import type { RequestContext } from './context.js';
import { isAllowed, type Access, type Principal } from '../auth/principal.js';
import type { Authenticator } from '../auth/authenticator.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
const MUTATING = new Set<Method>(['post', 'put', 'patch', 'delete']);

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Lets a handler set cookies; called before the body is sent. */
  apply?: (res: Response) => void;
  /** For responses the handler writes itself (streams, binary bodies): called instead of sending a body. */
  respond?: (res: Response) => Promise<void>;
}

export interface HandlerInput<P, Q, B, H> {
  params: P;
  query: Q;
  body: B;
  headers: H;
  ctx: RequestContext & { principal: Principal | undefined };
  req: Request;
}

export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, H extends z.ZodType> {
  method: Method;
  path: string;
  summary: string;
  tags: string[];
  access: Access;
  /** Cookie-authenticated mutations need the CSRF header, except where a route opts out (login). */
  csrf?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  headers?: H;
  /** `contentTypes` documents responses in several media types (e.g. binary streams); it is not validated. */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string; contentTypes?: Record<string, z.ZodType> }>;
  handler(input: HandlerInput<z.output<P>, z.output<Q>, z.output<B>, z.output<H>>): Promise<RouteResult>;
}

export interface RouteDefinition {
  mount(router: Router, authenticator: Authenticator): void;
  document(registry: OpenAPIRegistry): void;
}

type Empty = z.ZodObject<Record<string, never>>;

export function defineRoute<
  P extends z.ZodType = Empty,
  Q extends z.ZodType = Empty,
  B extends z.ZodType = z.ZodUndefined,
  H extends z.ZodType = Empty,
>(spec: RouteSpec<P, Q, B, H>): RouteDefinition {
  const parse = <S extends z.ZodType>(schema: S | undefined, value: unknown, where: FieldError['in']): z.output<S> => {
    if (!schema) return {} as z.output<S>;
    const result = schema.safeParse(value);
    if (!result.success) throw validationError(where, result.error);
    return result.data;
  };

  async function handle(req: Request, res: Response, authenticator: Authenticator): Promise<void> {
    let principal: Principal | undefined;
    if (spec.access !== 'public') {
      const auth = await authenticator.authenticate(req);
      if (!auth) throw new AppError('UNAUTHENTICATED', 'Sign in, or send an API key as "Authorization: Bearer <key>"');
      principal = auth.principal;
      req.ctx.principal = principal;
      req.ctx.via = auth.via;
      if (!isAllowed(principal, spec.access)) {
        throw new AppError('FORBIDDEN', `${spec.method.toUpperCase()} ${spec.path} is not allowed for this ${principal.kind === 'apiKey' ? 'API key' : 'role'}`);
      }
      if (auth.via === 'cookie' && principal.kind === 'user' && MUTATING.has(spec.method) && spec.csrf !== false) {
        if (!authenticator.checkCsrf(principal, req.get('x-csrf-token'))) throw new AppError('CSRF_TOKEN_INVALID');
      }
    }

    if (spec.body && !req.is('application/json')) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
    }
    const params = parse(spec.params, req.params, 'params');
    const query = parse(spec.query, req.query, 'query');
    const headers = parse(spec.headers, req.headers, 'header');
    const body = parse(spec.body, req.body, 'body');

    const result = await spec.handler({ params, query, body, headers, req, ctx: { ...req.ctx, principal } });
    if (result.respond) {
      await result.respond(res);
      return;
    }

    const declared = spec.responses[result.status];
    if (!declared) throw new Error(`${spec.method} ${spec.path} returned undeclared status ${result.status}`);
    let payload = result.body;
    if (declared.schema) {
      const checked = declared.schema.safeParse(result.body);
      if (!checked.success) {
        req.ctx.log.error({ issues: checked.error.issues, route: spec.path }, 'response failed its schema');
        throw new Error(`response of ${spec.method} ${spec.path} does not match its schema`);
      }
      payload = checked.data;
    }
    for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
    result.apply?.(res);
    res.status(result.status);
    if (payload === undefined) res.end();
    else if (declared.contentType && typeof payload === 'string') res.type(declared.contentType).send(payload);
    else res.type('application/json').send(JSON.stringify(payload));
  }

  return {
    mount(router, authenticator) {
      router[spec.method](spec.path, (req, res) => {
        req.ctx.route = spec.path;
        return handle(req, res, authenticator);
      });
    },
    document(registry) {
      const responses: RouteConfig['responses'] = {};
      for (const [status, r] of Object.entries(spec.responses)) {
        const content = r.contentTypes
          ? Object.fromEntries(Object.entries(r.contentTypes).map(([type, schema]) => [type, { schema }]))
          : r.schema
            ? { [r.contentType ?? 'application/json']: { schema: r.schema } }
            : undefined;
        responses[status] = content ? { description: r.description, content } : { description: r.description };
      }
      responses.default = { description: 'Error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
      const request: RouteConfig['request'] = {};
      if (spec.params instanceof z.ZodObject) request.params = spec.params;
      if (spec.query instanceof z.ZodObject) request.query = spec.query;
      if (spec.headers instanceof z.ZodObject) request.headers = spec.headers;
      if (spec.body) request.body = { required: true, content: { 'application/json': { schema: spec.body } } };
      registry.registerPath({
        method: spec.method,
        path: spec.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}'),
        summary: spec.summary,
        tags: spec.tags,
        security: spec.access === 'public' ? [] : securityFor(spec.access),
        description: describeAccess(spec.access),
        'x-facesign-access': accessExtension(spec.access),
        request,
        responses,
      });
    },
  };
}

function securityFor(access: Exclude<Access, 'public'>): RouteConfig['security'] {
  const out: NonNullable<RouteConfig['security']> = [];
  if (access.roles !== undefined) out.push({ cookieSession: [] });
  if (access.apiKeyScope) out.push({ apiKey: [access.apiKeyScope] });
  return out;
}

/** The access rule in machine-readable form, so clients and tests can tell who may call what. */
export function accessExtension(access: Access): { public: true } | { roles: readonly string[] | 'any'; apiKeyScope: string | null } {
  if (access === 'public') return { public: true };
  return { roles: access.roles ?? [], apiKeyScope: access.apiKeyScope ?? null };
}

function describeAccess(access: Access): string {
  if (access === 'public') return 'Public.';
  const parts: string[] = [];
  if (access.roles === 'any') parts.push('any signed-in user');
  else if (access.roles) parts.push(`users with role ${access.roles.join(' or ')}`);
  if (access.apiKeyScope) parts.push(`API keys with scope \`${access.apiKeyScope}\``);
  return `Allowed for ${parts.join('; ')}.`;
}
