// The evidence package as a PDF a person can read: the same facts as the sealed JSON manifest,
// with each checklist prompt in the session's language (zh-CN needs an embedded CJK font), and the
// manifest's own SHA-256 on every page, so a printed copy points at exactly one JSON manifest. That
// manifest travels inside the PDF as an attached file (evidence-<session>.json; `pdfdetach -saveall`
// extracts it) and stays the authority: `npm run evidence:verify` checks it, not the rendering.
// The whole PDF is signed as PAdES with the platform key (pades.ts), so any PDF reader shows who
// signed it and that nothing changed since.
import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { Readable } from 'node:stream';
import PDFDocument from 'pdfkit';
import { AppError } from '../server/shared/errors.js';
import type { Logger } from '../server/logging.js';
import type { Signer } from '../server/signing/signer.js';
import { templateDocumentSchema, type LocalizedText, type TemplateDocument } from '../server/checklists/template.schema.js';
import { dueDayWords, renderPrompt } from '../server/loan-files/loan-terms.js';
import type { EvidenceManifest, EvidenceService } from './evidence.service.js';
import { addSignaturePlaceholder, signPdf, type PdfSignatureInfo } from './pades.js';

/** The two faces of one TrueType collection (Debian's fonts-wqy-microhei): proportional and monospaced. */
const TEXT_FACE = 'WenQuanYiMicroHei';
const MONO_FACE = 'WenQuanYiMicroHeiMono';

export interface EvidencePdfSettings {
  /** A TrueType collection holding WenQuanYi Micro Hei (EVIDENCE_PDF_FONT). */
  fontPath: string;
}

export interface EvidencePdfServiceOptions {
  evidence: EvidenceService;
  settings: EvidencePdfSettings;
  log: Logger;
  signer: Signer;
}

export class EvidencePdfService {
  private readonly evidence: EvidenceService;
  private readonly settings: EvidencePdfSettings;
  private readonly log: Logger;
  private readonly signer: Signer;

  constructor(options: EvidencePdfServiceOptions) {
    this.evidence = options.evidence;
    this.settings = options.settings;
    this.log = options.log;
    this.signer = options.signer;
  }

  /** Readiness: the font can be read. Throws (with the errno code, e.g. ENOENT) when it cannot. */
  async checkFont(): Promise<void> {
    await access(this.settings.fontPath, constants.R_OK);
  }

  fontInfo(): Promise<Record<string, string | null>> {
    return Promise.resolve({ font: this.settings.fontPath });
  }

  /**
   * Loads the font first, so a missing font fails with problem+json before anything is exported or
   * audited; then builds the manifest (which audits the export as format "pdf"), renders and signs it.
   * Signing needs the whole file, so the PDF is held in memory (some hundred KB).
   */
  async export(sessionId: string, exportedBy: string, requestId: string): Promise<{ manifestSha256: string; pdf: Readable }> {
    const font = await this.loadFont();
    const manifest = await this.evidence.build(sessionId, exportedBy, requestId, 'pdf');
    const rendered = await collect(renderEvidencePdf(manifest, font, { signedAt: new Date(), name: 'facesign evidence', reason: `Evidence package of session ${manifest.session.id}` }));
    return { manifestSha256: manifest.manifestSha256, pdf: Readable.from([await signPdf(rendered, this.signer)]) };
  }

  private async loadFont(): Promise<Buffer> {
    try {
      return await readFile(this.settings.fontPath);
    } catch (error) {
      this.log.error({ fontPath: this.settings.fontPath, code: (error as NodeJS.ErrnoException).code }, 'the evidence PDF font cannot be read');
      throw new AppError('EVIDENCE_PDF_UNAVAILABLE', 'The CJK font for evidence PDFs is missing: install fonts-wqy-microhei or set EVIDENCE_PDF_FONT; the JSON manifest is still available');
    }
  }
}

const iso = (v: string | null | undefined) => v ?? '—';
const orDash = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? '—' : String(v));

/** 83_456 ms -> "01:23.456 (83456 ms)": the offset as a reviewer seeks it in a player. */
export function formatOffset(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  const millis = ms % 1000;
  return `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}.${String(millis).padStart(3, '0')} (${ms} ms)`;
}

function formatBytes(size: string | null): string {
  if (size === null) return '—';
  const n = Number(size);
  const human = n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
  return `${size} bytes (${human})`;
}

const AUDIT_DATA_CHARS = 400;

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Renders synchronously into a pdfkit stream. The font is embedded as a subset of the glyphs used and
 * the pages are text only, so memory is bounded by the manifest, which the caller already holds (a
 * session's PDF is tens of pages, some hundred KB). With `signature`, the PDF gets an invisible
 * signature field to be filled in by `signPdf`.
 */
export function renderEvidencePdf(manifest: EvidenceManifest, font: Buffer, signature?: PdfSignatureInfo): Readable {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: 56, bottom: 56, left: 50, right: 50 },
    // Footers name the page count, so pages are held until the end: a few dozen small pages at most.
    bufferPages: true,
    info: {
      Title: `Evidence package, session ${manifest.session.id}`,
      Subject: `facesign evidence; manifest SHA-256 ${manifest.manifestSha256}`,
      Keywords: `${manifest.format} ${manifest.manifestSha256}`,
      Creator: 'facesign',
    },
  });
  doc.file(Buffer.from(JSON.stringify(manifest), 'utf8'), {
    name: `evidence-${manifest.session.id}.json`,
    type: 'application/json',
    description: `The sealed evidence manifest this PDF renders (SHA-256 ${manifest.manifestSha256})`,
  });
  doc.registerFont('text', font, TEXT_FACE);
  doc.registerFont('mono', font, MONO_FACE);
  const language: keyof LocalizedText = manifest.party.locale === 'en' ? 'en' : 'zh-CN';
  const other: keyof LocalizedText = language === 'en' ? 'zh-CN' : 'en';
  const width = doc.page.width - doc.page.margins.left - doc.page.margins.right;

  const heading = (title: string) => {
    if (doc.y > doc.page.height - doc.page.margins.bottom - 80) doc.addPage();
    doc.moveDown(0.6).font('text').fontSize(13).fillColor('#1a3c6e').text(title, doc.page.margins.left, doc.y, { width });
    doc.moveTo(doc.page.margins.left, doc.y).lineTo(doc.page.margins.left + width, doc.y).strokeColor('#1a3c6e').lineWidth(0.5).stroke();
    doc.moveDown(0.3).fontSize(10).fillColor('black');
  };
  const field = (label: string, value: string, options: { mono?: boolean; indent?: number } = {}) => {
    const x = doc.page.margins.left + (options.indent ?? 0);
    doc.font('text').fontSize(9).fillColor('#555555').text(`${label}: `, x, doc.y, { width: width - (options.indent ?? 0), continued: true });
    doc.font(options.mono ? 'mono' : 'text').fontSize(options.mono ? 8.5 : 10).fillColor('black').text(value);
  };
  const paragraph = (text: string, options: { indent?: number; size?: number; color?: string } = {}) => {
    const x = doc.page.margins.left + (options.indent ?? 0);
    doc.font('text').fontSize(options.size ?? 10).fillColor(options.color ?? 'black').text(text, x, doc.y, { width: width - (options.indent ?? 0) });
  };
  const gap = () => doc.moveDown(0.4);

  doc.font('text').fontSize(18).fillColor('black').text('Evidence package · 证据包', { width });
  doc.fontSize(9).fillColor('#555555').text(
    `A readable rendering of the sealed JSON manifest attached to this PDF (evidence-${manifest.session.id}.json). The JSON manifest is the authority: check it, with the recording and capture files, by \`npm run evidence:verify\`.`,
    { width },
  );
  gap();
  field('Format', manifest.format);
  field('Generated at', manifest.generatedAt);
  field('Manifest SHA-256', manifest.manifestSha256, { mono: true });
  field('Signed by key', `${manifest.signing.keyId} (${manifest.signing.algorithm}) at ${manifest.signing.signedAt}`, { mono: true });
  paragraph('The JSON manifest and this PDF are signed with that key; check both offline with `npm run evidence:verify -- <file> --trust <certificate>` (docs/evidence.md).', { size: 8.5, color: '#555555' });

  heading('Session');
  const s = manifest.session;
  field('Session', s.id, { mono: true });
  field('Kind', s.kind);
  field('State', s.state);
  field('Outcome', orDash(s.outcome));
  field('Completed at', iso(s.completedAt));
  field('End reason', orDash(s.endReason));
  field('Decision note', orDash(s.decisionNote));
  field('Session language', language);
  if (s.contractDocumentHash) field('Contract document SHA-256', s.contractDocumentHash, { mono: true });

  heading('Loan file and party');
  field('Loan reference', manifest.loanFile.externalRef);
  field('Product', manifest.loanFile.product);
  field('Amount', `${manifest.loanFile.amount} ${manifest.loanFile.currency}`);
  const values = manifest.script.values;
  const terms = manifest.script.loanTerms;
  if (terms) {
    const words = values[language];
    const stated = (label: string, name: string) => {
      if (words[name] !== undefined) field(label, words[name]);
    };
    stated('Term', 'term');
    stated('APR (simple)', 'apr');
    stated('Repayment', 'repaymentMethod');
    stated('Instalment', 'instalment');
    if (terms.dueDay !== undefined) field('Due day', dueDayWords(terms.dueDay, language));
    stated('Fees', 'fees');
    stated('Lender', 'lenderName');
    stated('Collateral', 'collateral');
  }
  field('Party reference', manifest.party.id, { mono: true });
  field('Party', `${manifest.party.role}, ${manifest.party.name}, ${manifest.party.phone} (masked)`);

  heading('Checklist template');
  field('Template', `${manifest.template.key} version ${manifest.template.version}`);
  field('Template content SHA-256', manifest.template.contentHash, { mono: true });

  heading(`Questions and answers (prompts as scripted, in ${language})`);
  const template = templateDocumentSchema.safeParse(manifest.template.definition);
  const answers = new Map(manifest.answers.map((a) => [a.itemId, a]));
  const items: { id: string; required: boolean; prompt: LocalizedText | undefined }[] = template.success
    ? template.data.sections.flatMap((section: TemplateDocument['sections'][number]) => section.items.map((item) => ({ id: item.id, required: item.required, prompt: item.prompt })))
    : manifest.answers.map((a) => ({ id: a.itemId, required: false, prompt: undefined }));
  items.forEach((item, index) => {
    if (doc.y > doc.page.height - doc.page.margins.bottom - 90) doc.addPage();
    const answer = answers.get(item.id);
    paragraph(`${index + 1}. ${item.id}${item.required ? ' (required)' : ''}`, { size: 10, color: '#1a3c6e' });
    if (item.prompt) {
      paragraph(renderPrompt(item.prompt[language], values[language]), { indent: 12 });
      paragraph(`${other}: ${renderPrompt(item.prompt[other], values[other])}`, { indent: 12, size: 8.5, color: '#555555' });
    }
    field('Answer', answer ? `${answer.value} (revision ${answer.revision}, ${iso(answer.answeredAt)})` : 'not answered', { indent: 12 });
    field('Offset in recording', formatOffset(answer?.offsetMs), { indent: 12 });
    if (answer?.note) field('Note', answer.note, { indent: 12 });
    gap();
  });

  heading('Risk flags');
  if (manifest.riskFlags.length === 0) paragraph('None.');
  for (const f of manifest.riskFlags) {
    field(`${f.code} (${f.severity})`, `at ${formatOffset(f.offsetMs)}; ${orDash(f.note)}`);
  }

  heading('Consent records');
  if (manifest.consents.length === 0) paragraph('None.');
  for (const c of manifest.consents) {
    field(c.kind, `text version ${c.textVersion}, ${c.locale}, granted ${iso(c.grantedAt)}`);
    field('Consent text SHA-256', c.textHash, { mono: true, indent: 12 });
  }
  // A video session always says what became of the contract: signed (when, where in the recording,
  // which document), not signed, or none to sign; a call has no contract.
  if (s.kind === 'VIDEO' || manifest.signings.length > 0) {
    heading('Contract signing');
    if (!s.contractDocumentHash) paragraph('No contract to sign in this session: the LOS supplied no contract document or hash.');
    else if (manifest.signings.length === 0) paragraph('The party did not confirm signing the contract with the signing code.');
    for (const sg of manifest.signings) {
      field('Signed at', `${iso(sg.confirmedAt)}, at ${formatOffset(sg.recordingOffsetMs)} into the recording of attempt ${sg.attemptId}`);
      field('Document SHA-256', sg.documentHash, { mono: true, indent: 12 });
    }
  }

  heading('Attempts');
  for (const a of manifest.attempts) {
    field(`Attempt ${a.number}`, `started ${iso(a.startedAt)}, answered ${iso(a.answeredAt)}, ended ${iso(a.endedAt)}; ${orDash(a.dialOutcome)}; ${orDash(a.endReason)}`);
  }

  heading('Recordings');
  if (manifest.recordings.length === 0) paragraph('None.');
  for (const r of manifest.recordings) {
    field('Recording', r.id, { mono: true });
    field('File', r.file, { mono: true, indent: 12 });
    field('State', r.state, { indent: 12 });
    field('Size', formatBytes(r.sizeBytes), { indent: 12 });
    field('Duration', formatOffset(r.durationMs), { indent: 12 });
    field('Content type', orDash(r.contentType), { indent: 12 });
    field('SHA-256', orDash(r.sha256), { mono: true, indent: 12 });
    field('Verified at', iso(r.verifiedAt), { indent: 12 });
    field('Retain until', iso(r.retainUntil), { indent: 12 });
    gap();
  }

  heading('Captures');
  if (manifest.captures.length === 0) paragraph('None.');
  for (const c of manifest.captures) {
    field(`${c.kind}`, `${c.file}, ${formatBytes(c.sizeBytes)}, at ${formatOffset(c.offsetMs)}`);
    field('SHA-256', c.sha256, { mono: true, indent: 12 });
  }

  heading('Face-match assist (the agent decides; the model only assists)');
  if (manifest.faceMatches.length === 0) paragraph('None.');
  for (const m of manifest.faceMatches) {
    const verdict = m.score === null ? orDash(m.result) : `${orDash(m.result)}, similarity ${m.score.toFixed(3)}`;
    field('ID photo against live face', `${verdict} (${m.status})`);
    field('Thresholds', `match at ${m.thresholds.matchAt} or above, no match below ${m.thresholds.noMatchBelow}`, { indent: 12 });
    field('Faces found', `ID ${m.faceCounts.id ?? '—'}, live ${m.faceCounts.live ?? '—'}`, { indent: 12 });
    field('Model', m.model ? `${m.model.name}; ${m.model.version}` : '—', { indent: 12 });
    field('Captures', `${m.idCaptureId} / ${m.liveCaptureId}`, { mono: true, indent: 12 });
    for (const side of ['id', 'live'] as const) {
      const crop = m.crops[side];
      if (crop) field(`Crop (${side})`, `${crop.file} ${crop.sha256}`, { mono: true, indent: 12 });
    }
    if (m.failure) field('Note', m.failure, { indent: 12 });
    gap();
  }

  heading('Active liveness assist (the agent decides; the landmarks only assist)');
  if (manifest.livenessChecks.length === 0) paragraph('None.');
  for (const c of manifest.livenessChecks) {
    field('Prompt', `${orDash(c.promptId)}, movement ${orDash(c.movement)}`);
    field('Result', `${orDash(c.result)} (${c.status})`, { indent: 12 });
    for (const [label, frame] of [['Before', c.before], ['During', c.action]] as const) {
      const m = frame.measures;
      field(label, m ? `yaw ${m.yawDeg}°, pitch ${m.pitch}, eye aspect ${m.ear}, mouth ${m.mouth}` : `faces found: ${frame.faceCount ?? '—'}`, { indent: 12 });
    }
    const t = c.thresholds;
    field('Thresholds', `turn ${t.yawChangeDeg}°, nod ${t.pitchChange}, eyes shut below ${t.eyesClosedBelow} / open at ${t.eyesOpenAt}, mouth open at ${t.mouthOpenAt} / shut below ${t.mouthClosedBelow}`, { indent: 12 });
    field('Model', c.model ? `${c.model.name}; ${c.model.version}` : '—', { indent: 12 });
    field('Captures', `${c.beforeCaptureId} / ${c.actionCaptureId}`, { mono: true, indent: 12 });
    if (c.failure) field('Note', c.failure, { indent: 12 });
    gap();
  }

  heading('Review decisions');
  if (!manifest.review) paragraph('Not selected for review.');
  else {
    field('Selected because', manifest.review.reason);
    field('Status', manifest.review.status);
    field('Reviewer', orDash(manifest.review.reviewerId), { mono: true });
    field('Decided at', iso(manifest.review.decidedAt));
    field('Note', orDash(manifest.review.note));
  }

  heading('Audit chain slice');
  field('Chain head', `seq ${orDash(manifest.auditChain.headSeq)}`);
  field('Head hash', orDash(manifest.auditChain.headHash), { mono: true });
  gap();
  for (const e of manifest.auditChain.events) {
    if (doc.y > doc.page.height - doc.page.margins.bottom - 70) doc.addPage();
    paragraph(`#${e.seq} ${e.occurredAt} ${e.action} v${e.actionVersion} — ${e.actorType}${e.actorId ? ` ${e.actorId}` : ''} on ${e.entityType} ${e.entityId}`, { size: 8.5 });
    field('hash', e.hash, { mono: true, indent: 12 });
    field('prev', e.prevHash, { mono: true, indent: 12 });
    const data = JSON.stringify(e.data);
    field('data', data.length > AUDIT_DATA_CHARS ? `${data.slice(0, AUDIT_DATA_CHARS)}… (in full in the JSON manifest)` : data, { mono: true, indent: 12 });
    doc.moveDown(0.2);
  }

  const pages = doc.bufferedPageRange();
  for (let i = pages.start; i < pages.start + pages.count; i += 1) {
    doc.switchToPage(i);
    // Text below the bottom margin would start a new page: lift the margin while writing the footer.
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc.font('mono').fontSize(7).fillColor('#666666')
      .text(`session ${manifest.session.id} · manifest SHA-256 ${manifest.manifestSha256} · page ${i + 1} of ${pages.count}`, doc.page.margins.left, doc.page.height - 36, { width, lineBreak: false });
    doc.page.margins.bottom = bottom;
  }
  if (signature) addSignaturePlaceholder(doc, signature);
  doc.end();
  return doc;
}
