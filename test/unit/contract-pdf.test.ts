// What the contract upload accepts as a PDF: decided by the bytes (header and end marker), never by a
// name or a Content-Type.
import { describe, expect, it } from 'vitest';
import { looksLikePdf } from '../../server/loan-files/contracts.service.js';

const body = Buffer.from('1 0 obj << /Type /Catalog >> endobj\n'.repeat(4));
const pdf = (header: string, tail = '\n%%EOF\n') => Buffer.concat([Buffer.from(header), body, Buffer.from(tail)]);

describe('looksLikePdf', () => {
  it.each([
    ['PDF 1.7', pdf('%PDF-1.7\n'), true],
    ['PDF 2.0', pdf('%PDF-2.0\n'), true],
    ['an end marker followed by a newline and trailing bytes of an incremental update', pdf('%PDF-1.4\n', '\n%%EOF\r\n'), true],
    ['no end marker (cut short)', pdf('%PDF-1.7\n', '\nstartxref\n'), false],
    ['an unknown major version', pdf('%PDF-3.0\n'), false],
    ['HTML with a PDF end marker', Buffer.concat([Buffer.from('<html><script>alert(1)</script>'), body, Buffer.from('%%EOF')]), false],
    ['a PNG', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), body]), false],
    ['the header alone', Buffer.from('%PDF-1.7\n%%EOF'), false],
    ['nothing', Buffer.alloc(0), false],
  ])('%s', (_name, bytes, expected) => {
    expect(looksLikePdf(bytes)).toBe(expected);
  });

  it('looks for the end marker only in the last kilobyte', () => {
    const early = Buffer.concat([Buffer.from('%PDF-1.7\n%%EOF\n'), Buffer.alloc(2048, 0x20)]);
    expect(looksLikePdf(early)).toBe(false);
  });
});
