// Reads a request body as bytes for the binary upload routes (snapshots, contracts). Any declared type
// is read: the route checks the Content-Type and the content decides. No inflation: uploads are
// already compressed, and a gzip bomb stays out. Parser failures become problem+json errors that name
// what was being sent.
import express, { type Request, type Response } from 'express';
import { AppError } from '../shared/errors.js';

interface BodyParserError {
  type?: string;
}

function bodyError(err: unknown, maxBytes: number, what: string): AppError {
  switch ((err as BodyParserError).type) {
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', `A ${what} may be at most ${maxBytes} bytes`);
    case 'encoding.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', `Send the ${what} without Content-Encoding`);
    default:
      return new AppError('MALFORMED_BODY', `The ${what} could not be read`);
  }
}

/** A reader of whole bodies up to `maxBytes`; `what` names the upload in errors ("snapshot", "contract"). */
export function rawBodyReader(maxBytes: number, what: string): (req: Request, res: Response) => Promise<Buffer> {
  const readRaw = express.raw({ type: () => true, limit: maxBytes, inflate: false });
  return (req, res) =>
    new Promise<Buffer>((resolve, reject) => {
      readRaw(req, res, (err?: unknown) => {
        if (err) reject(bodyError(err, maxBytes, what));
        else resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
      });
    });
}
