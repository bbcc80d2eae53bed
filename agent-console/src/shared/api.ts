// One way to call the facesign API from a page: JSON in and out, the CSRF header on mutations (the
// token lives in the readable fs_csrf cookie), and problem+json turned into an ApiError that keeps the
// stable code and the per-field messages so forms can show them where they belong.

export interface FieldProblem {
  in: string;
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors: FieldProblem[] = [],
    /** From Retry-After, when the server says when to try again (throttled sign-ins, locked codes). */
    readonly retryAfterSeconds?: number,
    /** The whole problem document, for the extensions some codes carry (e.g. callingHours). */
    readonly problem: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

/** The CSRF token the server set at login, or '' when signed out. */
export function csrfToken(): string {
  const match = /(?:^|;\s*)fs_csrf=([^;]*)/.exec(document.cookie);
  return match?.[1] ? decodeURIComponent(match[1]) : '';
}

export interface RequestOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Send this body as is (e.g. an image Blob) with its own content type. */
  rawBody?: Blob;
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  if (method !== 'GET') {
    const token = csrfToken();
    if (token) headers['X-CSRF-Token'] = token;
  }
  let payload: BodyInit | undefined;
  if (options.rawBody) {
    payload = options.rawBody;
    headers['Content-Type'] = options.rawBody.type || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', signal: options.signal });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached. Check the connection and try again.');
  }
  if (response.status === 204) return undefined as T;
  const type = response.headers.get('Content-Type') ?? '';
  if (!response.ok) {
    if (type.includes('json')) {
      const problem = (await response.json()) as { code?: string; detail?: string; title?: string; errors?: FieldProblem[] } & Record<string, unknown>;
      const retryAfter = Number(response.headers.get('Retry-After') ?? '');
      throw new ApiError(response.status, problem.code ?? 'UNKNOWN', problem.detail ?? problem.title ?? response.statusText, problem.errors ?? [], Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined, problem);
    }
    throw new ApiError(response.status, 'UNKNOWN', response.statusText);
  }
  return (type.includes('json') ? await response.json() : await response.text()) as T;
}

/** The message for one field, if the server named it. */
export function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiError ? error.errors.find((e) => e.field === field)?.message : undefined;
}
