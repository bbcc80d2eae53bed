import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../server/audit/canonical-json.js';
import { GENESIS_HASH, hashAuditRow, type HashedAuditFields } from '../../server/audit/audit.service.js';

const row: HashedAuditFields = {
  id: '00000000-0000-4000-8000-000000000001',
  occurredAt: new Date('2026-11-23T08:00:00.000Z'),
  recordedAt: new Date('2026-11-23T08:00:00.123Z'),
  actorType: 'USER',
  actorId: 'u1',
  action: 'loan_file.created',
  actionVersion: 1,
  entityType: 'loan_file',
  entityId: 'lf1',
  requestId: null,
  data: { b: 1, a: { d: [1, 2], c: 'x' } },
  prevHash: GENESIS_HASH,
};

describe('canonical JSON', () => {
  it('sorts keys recursively and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [{ z: 1, y: 2 }] } })).toBe('{"a":{"c":[{"y":2,"z":1}]},"b":1}');
  });
  it('does not depend on key order (jsonb reorders keys)', () => {
    expect(canonicalJson({ x: 1, y: { b: 2, a: 1 } })).toBe(canonicalJson({ y: { a: 1, b: 2 }, x: 1 }));
  });
});

describe('audit row hash', () => {
  it('is sha256 hex and stable', () => {
    expect(hashAuditRow(row)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashAuditRow({ ...row, data: { a: { c: 'x', d: [1, 2] }, b: 1 } })).toBe(hashAuditRow(row));
  });
  it.each([
    ['data', { ...row, data: { b: 2, a: { d: [1, 2], c: 'x' } } }],
    ['actor', { ...row, actorId: 'u2' }],
    ['business time', { ...row, occurredAt: new Date('2026-11-23T08:00:00.001Z') }],
    ['link', { ...row, prevHash: 'f'.repeat(64) }],
  ])('changes when the %s changes', (_what, changed) => {
    expect(hashAuditRow(changed)).not.toBe(hashAuditRow(row));
  });
});
