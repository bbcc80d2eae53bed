import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError, ERROR_CODES, validationError } from '../../server/shared/errors.js';
import { toProblem } from '../../server/http/problem.js';

describe('error codes', () => {
  it('are all documented in docs/errors.md with their status', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      expect(doc, code).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`));
    }
  });

  it('render as RFC 9457 problems with a stable type and code', () => {
    const p = toProblem(new AppError('ACCOUNT_LOCKED'), '/api/auth/login', 'req-1');
    expect(p).toMatchObject({ type: 'urn:facesign:problem:account-locked', status: 423, code: 'ACCOUNT_LOCKED', instance: '/api/auth/login', requestId: 'req-1' });
  });

  it('list one entry per invalid field, with where and why', () => {
    const schema = z.object({ phone: z.string().regex(/^\+\d+$/, 'must be E.164'), amount: z.number().positive('must be positive') });
    const result = schema.safeParse({ phone: '123', amount: -1 });
    if (result.success) throw new Error('expected failure');
    const err = validationError('body', result.error);
    expect(err.extra.errors).toEqual([
      { in: 'body', field: 'phone', message: 'must be E.164' },
      { in: 'body', field: 'amount', message: 'must be positive' },
    ]);
  });
});
