import { describe, expect, it } from 'vitest';
import { isAllowed, type Principal } from '../../server/auth/principal.js';

const user = (...roles: ('AGENT' | 'SUPERVISOR' | 'AUDITOR' | 'ADMIN')[]): Principal => ({ kind: 'user', userId: 'u', roles, loginSessionId: 's', csrfTokenHash: 'h' });
const key = (...scopes: ('loan-files:read' | 'loan-files:write')[]): Principal => ({ kind: 'apiKey', apiKeyId: 'k', scopes });

describe('isAllowed', () => {
  it.each([
    [user('AGENT'), { roles: ['SUPERVISOR', 'ADMIN'] as const }, false],
    [user('AGENT', 'SUPERVISOR'), { roles: ['SUPERVISOR', 'ADMIN'] as const }, true],
    [user('AUDITOR'), { roles: 'any' as const }, true],
    [user('ADMIN'), { apiKeyScope: 'loan-files:write' as const }, false],
    [key('loan-files:write'), { roles: ['ADMIN'] as const }, false],
    [key('loan-files:read'), { roles: ['ADMIN'] as const, apiKeyScope: 'loan-files:write' as const }, false],
    [key('loan-files:write'), { roles: ['ADMIN'] as const, apiKeyScope: 'loan-files:write' as const }, true],
    [key('loan-files:write'), { roles: 'any' as const }, false],
  ])('%j on %j -> %s', (principal, access, expected) => {
    expect(isAllowed(principal, access)).toBe(expected);
  });
});
