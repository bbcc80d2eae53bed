import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseRange, type RangeRequest } from '../../recordings/playback.service.js';

const whole: RangeRequest = { kind: 'whole' };
const bytes = (start: number, end: number): RangeRequest => ({ kind: 'partial', start, end });

describe('parseRange on a 1000-byte object', () => {
  const satisfiable: [string | undefined, RangeRequest][] = [
    [undefined, whole],
    ['', whole],
    ['bytes=0-499', bytes(0, 499)],
    ['bytes=500-999', bytes(500, 999)],
    ['bytes=0-0', bytes(0, 0)],
    ['bytes=999-999', bytes(999, 999)],
    // An end past the object is clamped to its last byte (RFC 9110 §14.1.2).
    ['bytes=500-5000', bytes(500, 999)],
    ['bytes=0-99999999999999999999999', bytes(0, 999)],
    ['bytes=500-', bytes(500, 999)],
    // What browsers send first: a 206 covering everything.
    ['bytes=0-', bytes(0, 999)],
    ['bytes=-1', bytes(999, 999)],
    ['bytes=-500', bytes(500, 999)],
    ['bytes=-1000', bytes(0, 999)],
    ['bytes=-5000', bytes(0, 999)],
    ['BYTES=1-2', bytes(1, 2)],
    [' bytes=1-2 ', bytes(1, 2)],
  ];
  it.each(satisfiable)('%j -> %j', (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected);
  });

  const unsatisfiable: string[] = [
    'bytes=1000-',
    'bytes=1000-1001',
    'bytes=99999999999999999999999-',
    'bytes=5-4',
    'bytes=-0',
    'bytes=-',
    'bytes=',
    'bytes=0-1,5-6',
    'bytes=0-1, 5-6',
    'bytes=0-1,',
    'items=0-5',
    'bytes 0-5',
    '0-5',
    'bytes=a-b',
    'bytes=1.5-2',
    'bytes=+1-2',
    'bytes=-1-2',
    'bytes=0x10-20',
  ];
  it.each(unsatisfiable)('%j is unsatisfiable', (header) => {
    expect(parseRange(header, 1000)).toMatchObject({ kind: 'unsatisfiable', reason: expect.any(String) });
  });
});

describe('parseRange on an empty object', () => {
  it('serves it whole but satisfies no range', () => {
    expect(parseRange(undefined, 0)).toEqual(whole);
    expect(parseRange('bytes=0-', 0).kind).toBe('unsatisfiable');
    expect(parseRange('bytes=0-0', 0).kind).toBe('unsatisfiable');
    expect(parseRange('bytes=-1', 0).kind).toBe('unsatisfiable');
  });
});

describe('parseRange, any well-formed single range', () => {
  it('stays inside the object and starts where asked (or at the suffix)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.nat(), fc.nat(), fc.boolean(), (size, a, b, suffix) => {
        const header = suffix ? `bytes=-${a}` : `bytes=${Math.min(a, b)}-${Math.max(a, b)}`;
        const result = parseRange(header, size);
        if (result.kind !== 'partial') {
          // Only a start past the end, or an empty suffix, may be refused.
          expect(suffix ? a === 0 : Math.min(a, b) >= size).toBe(true);
          return;
        }
        expect(result.start).toBeGreaterThanOrEqual(0);
        expect(result.end).toBeLessThan(size);
        expect(result.start).toBeLessThanOrEqual(result.end);
        if (suffix) expect(result.end - result.start + 1).toBe(Math.min(a, size));
        else expect(result.start).toBe(Math.min(a, b));
      }),
    );
  });
});
