// PAdES signing of the evidence PDF (ETSI EN 319 142-1, baseline B-B): pdfkit writes an invisible
// signature field whose dictionary holds placeholders for /ByteRange and /Contents; @signpdf fills
// in the byte ranges, and our CMS signer (recordings/cms.ts) signs them with the platform key.
// `verifyPdfSignature` is the offline check `npm run evidence:verify` runs on a PDF.
import { SignPdf } from '@signpdf/signpdf';
import { DEFAULT_BYTE_RANGE_PLACEHOLDER, Signer as PdfSigner, SUBFILTER_ETSI_CADES_DETACHED } from '@signpdf/utils';
import type { Signer } from '../server/signing/signer.js';
import type { Keyring, KeyringEntry } from '../server/signing/keyring.js';
import { signDetachedCms, verifyDetachedCms } from './cms.js';

/** Room for the CMS (hex doubles it): a P-256 CMS with one certificate is about 1 KB, so chains fit. */
const SIGNATURE_BYTES = 8192;

export interface PdfSignatureInfo {
  signedAt: Date;
  /** Shown by readers as the signer's name. */
  name: string;
  reason: string;
}

interface DocumentInternals {
  _root: { data: { AcroForm: { data: { SigFlags?: number; Fields: unknown[] } } } };
}

/** An indirect object holding a dictionary and no stream, written at once. */
function dictionaryObject(doc: PDFKit.PDFDocument, data: Record<string, unknown>): PDFKit.PDFKitReference {
  const ref = doc.ref(data);
  ref.end(undefined);
  return ref;
}

/**
 * Adds the signature field and its placeholders to a pdfkit document before `end()`. The dictionary
 * keeps /ByteRange before /Contents, the order @signpdf looks them up in.
 */
export function addSignaturePlaceholder(doc: PDFKit.PDFDocument, info: PdfSignatureInfo): void {
  const placeholder = DEFAULT_BYTE_RANGE_PLACEHOLDER;
  const signature = dictionaryObject(doc, {
    Type: 'Sig',
    Filter: 'Adobe.PPKLite',
    SubFilter: SUBFILTER_ETSI_CADES_DETACHED,
    // Plain strings become PDF names: `[0 /********** /********** /**********]` is the placeholder.
    ByteRange: [0, placeholder, placeholder, placeholder],
    Contents: Buffer.alloc(SIGNATURE_BYTES),
    M: info.signedAt,
    Name: new String(info.name),
    Reason: new String(info.reason),
  });
  doc.switchToPage(0);
  const widget = dictionaryObject(doc, {
    Type: 'Annot',
    Subtype: 'Widget',
    FT: 'Sig',
    Rect: [0, 0, 0, 0],
    V: signature,
    T: new String('facesign evidence signature'),
    // Print flag, as PDF/A and most validators expect of a signature widget, even an invisible one.
    F: 4,
    P: doc.page.dictionary,
  });
  (doc.page.annotations as unknown[]).push(widget);
  // pdfkit's own form writes the AcroForm when the document ends.
  doc.initForm();
  const acroForm = (doc as unknown as DocumentInternals)._root.data.AcroForm;
  acroForm.data.SigFlags = 3;
  acroForm.data.Fields.push(widget);
}

class CmsPdfSigner extends PdfSigner {
  constructor(private readonly signer: Signer) {
    super();
  }

  override async sign(pdfBuffer: Buffer): Promise<Buffer> {
    return signDetachedCms(pdfBuffer, this.signer);
  }
}

/** Signs a PDF rendered with `addSignaturePlaceholder`. */
export async function signPdf(pdf: Buffer, signer: Signer): Promise<Buffer> {
  return new SignPdf().sign(pdf, new CmsPdfSigner(signer));
}

export interface PdfSignatureVerdict {
  problems: string[];
  subFilter: string | undefined;
  /** The claimed signing time, /M of the signature dictionary (inside the signed bytes). */
  signedAt: Date | undefined;
  key: KeyringEntry | undefined;
}

/** `D:YYYYMMDDHHmmSS` followed by `Z` or nothing (UTC), as pdfkit writes it. */
function pdfDate(value: string | undefined): Date | undefined {
  const m = value ? /^D:(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z?$/.exec(value) : null;
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
}

/**
 * Checks the PDF's signature against the keyring: exactly one signature, its byte ranges cover the
 * whole file but the signature itself (nothing appended after signing), and the CMS verifies with a
 * key trusted at the signing time, over exactly those bytes.
 */
export function verifyPdfSignature(pdf: Buffer, keyring: Keyring): PdfSignatureVerdict {
  const text = pdf.toString('latin1');
  const ranges = [...text.matchAll(/\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g)];
  const unsigned = { subFilter: undefined, signedAt: undefined, key: undefined };
  if (ranges.length !== 1) return { problems: [ranges.length === 0 ? 'the PDF is not signed' : `the PDF holds ${ranges.length} signatures, one is expected`], ...unsigned };
  const match = ranges[0]!;
  const [a, b, c, d] = match.slice(1, 5).map(Number) as [number, number, number, number];
  const dictionary = text.slice(text.lastIndexOf('<<', match.index), text.indexOf('>>', match.index) + 2);
  const subFilter = /\/SubFilter\s*\/([^\s/>]+)/.exec(dictionary)?.[1];
  const signedAt = pdfDate(/\/M\s*\(([^)]*)\)/.exec(dictionary)?.[1]);
  const problems: string[] = [];
  if (subFilter !== SUBFILTER_ETSI_CADES_DETACHED) problems.push(`the signature's SubFilter is ${subFilter ?? 'missing'}, not ${SUBFILTER_ETSI_CADES_DETACHED}`);
  if (!signedAt) problems.push('the signature dictionary has no readable signing time (/M)');
  if (a !== 0 || c + d !== pdf.length || b >= c || pdf[b] !== 0x3c || pdf[c - 1] !== 0x3e) {
    return { problems: [...problems, 'the signature does not cover the whole file (bytes were added after signing, or the byte range is wrong)'], subFilter, signedAt, key: undefined };
  }
  if (!signedAt) return { problems, subFilter, signedAt, key: undefined };
  const cms = Buffer.from(pdf.subarray(b + 1, c - 1).toString('latin1'), 'hex');
  const verdict = verifyDetachedCms(cms, Buffer.concat([pdf.subarray(a, b), pdf.subarray(c, c + d)]), keyring, signedAt);
  return { problems: [...problems, ...verdict.problems], subFilter, signedAt, key: problems.length === 0 ? verdict.key : undefined };
}
