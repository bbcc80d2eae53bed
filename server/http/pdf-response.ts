// A stored PDF sent inline, with headers that keep a browser tab from running it. Routes of any
// feature that serve a stored document use it (the loan file's contract, the session's contract).
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { Logger } from '../logging.js';

export interface StoredPdf {
  sizeBytes: number;
  sha256: string;
  /** The file name's stem: the download is named `<name>-<first 12 hex of the hash>.pdf`. */
  name: string;
}

/**
 * A GET streams what `open` returns (opening may be audited as a read); a HEAD sends the headers
 * only and never calls `open`, so it reads and records nothing.
 */
export async function sendInlinePdf(req: Request, res: Response, pdf: StoredPdf, open: () => Promise<Readable>, log: Logger): Promise<void> {
  const body = req.method === 'HEAD' ? null : await open();
  res
    .status(200)
    .type('application/pdf')
    .setHeader('Content-Length', String(pdf.sizeBytes))
    .setHeader('Cache-Control', 'no-store')
    .setHeader('X-Content-SHA256', pdf.sha256)
    .setHeader('Content-Disposition', `inline; filename="${pdf.name}-${pdf.sha256.slice(0, 12)}.pdf"`)
    // Opened directly in a tab, the document must not be able to run anything.
    .setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  if (!body) {
    res.end();
    return;
  }
  try {
    await pipeline(body, res);
  } catch (error) {
    log.info({ err: error }, `${pdf.name} stream ended early`);
  }
}
