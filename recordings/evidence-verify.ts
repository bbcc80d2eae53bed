// Checks an evidence package offline, without the database, against the keys the verifier trusts:
// the manifest's signature (by a trusted key, inside its validity window), its own seal, the
// checklist template against its hash, every audit event against its chain hash and its inclusion
// proof under the signed tree head of the audit log (signed by a trusted key), each answer
// against the last audited answer to its item, each recording and capture file against its SHA-256
// and size, and a PDF's PAdES signature. Each check reports on its own; every problem names the item
// it concerns.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { canonicalJson } from '../server/audit/canonical-json.js';
import { auditEventIntact, hashAuditRow, type ExportedAuditEvent } from '../server/audit/audit.service.js';
import { verifyEventInclusion, verifyTreeHeadSignature, type InclusionProof } from '../server/audit/tree-head.js';
import type { Keyring } from '../server/signing/keyring.js';
import { manifestHash } from './evidence.service.js';
import { verifyManifestSignature, type ManifestSignature, type ManifestSigning } from './evidence-signature.js';
import { verifyPdfSignature } from './pades.js';

export interface Finding {
  item: string;
  problem: string;
}

export interface EvidenceCheck {
  check: 'manifest' | 'signature' | 'seal' | 'template' | 'audit events' | 'audit tree' | 'answers' | 'files' | 'pdf';
  /** What was checked, for the report, whether it passed or not. */
  subject: string;
  findings: Finding[];
}

export interface Manifest {
  format?: string;
  manifestSha256?: string;
  signing?: ManifestSigning;
  signature?: ManifestSignature;
  template: { key: string; version: number; contentHash: string; definition: unknown };
  answers: { itemId: string; value: string; revision: number }[];
  recordings: { id: string; file: string; sha256: string | null; sizeBytes: string | null }[];
  captures: { id: string; file: string; sha256: string; sizeBytes: string }[];
  /** Packages made before the face-match assist have none. */
  faceMatches?: { id: string; crops: { id: { file: string; sha256: string } | null; live: { file: string; sha256: string } | null } }[];
  auditChain: { events: ExportedAuditEvent[]; treeHead?: unknown; inclusionProofs?: (InclusionProof & { eventId: string })[] };
}

async function fileDigest(path: string): Promise<{ sha256: string; size: bigint } | undefined> {
  try {
    await stat(path);
  } catch {
    return undefined;
  }
  const hash = createHash('sha256');
  let size = 0n;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += BigInt((chunk as Buffer).length);
  }
  return { sha256: hash.digest('hex'), size };
}

function checkSignature(manifest: Manifest, keyring: Keyring): EvidenceCheck {
  const verdict = verifyManifestSignature(manifest as unknown as Record<string, unknown>, keyring);
  const subject = verdict.key
    ? `manifest signed by key ${verdict.key.keyId} (${verdict.key.algorithm}) at ${verdict.signing?.signedAt}; trusted ${verdict.key.status} certificate ${verdict.key.certificate.subject}, window ${verdict.key.validFrom.toISOString()} to ${verdict.key.validUntil.toISOString()}`
    : `manifest signature${verdict.signing ? ` by key ${verdict.signing.keyId} at ${verdict.signing.signedAt}` : ''}`;
  return { check: 'signature', subject, findings: verdict.problems.map((problem) => ({ item: 'manifest signature', problem })) };
}

function checkSeal(manifest: Manifest): EvidenceCheck {
  const ok = manifest.manifestSha256 === manifestHash(manifest as unknown as Record<string, unknown>);
  return {
    check: 'seal',
    subject: `manifest SHA-256 ${manifest.manifestSha256 ?? '(none)'}`,
    findings: ok ? [] : [{ item: 'manifest', problem: 'the manifest was changed after it was sealed (manifestSha256 does not match)' }],
  };
}

function checkTemplate(manifest: Manifest): EvidenceCheck {
  const label = `template ${manifest.template.key} v${manifest.template.version}`;
  const templateHash = createHash('sha256').update(canonicalJson(manifest.template.definition)).digest('hex');
  return { check: 'template', subject: `${label} against its content hash`, findings: templateHash === manifest.template.contentHash ? [] : [{ item: label, problem: 'the template text does not match its content hash' }] };
}

function checkAuditEvents(manifest: Manifest): EvidenceCheck {
  const findings = manifest.auditChain.events
    .filter((e) => !auditEventIntact(e))
    .map((e) => ({ item: `audit event seq ${e.seq} (${e.action})`, problem: 'the event does not match its chain hash' }));
  return { check: 'audit events', subject: `${manifest.auditChain.events.length} audit events against their chain hashes`, findings };
}

/**
 * The audit slice against the log's signed tree head: the head is signed by a key trusted at its
 * time, and each event (its chain hash recomputed from its content) sits in the tree under that head.
 */
function checkAuditTree(manifest: Manifest, keyring: Keyring): EvidenceCheck {
  const { events, treeHead, inclusionProofs = [] } = manifest.auditChain;
  if (!treeHead) return { check: 'audit tree', subject: 'signed tree head', findings: [{ item: 'audit tree head', problem: 'the manifest carries no signed tree head' }] };
  const findings: Finding[] = [];
  const head = verifyTreeHeadSignature(treeHead, keyring);
  if (!head.ok && head.reason === 'malformed') return { check: 'audit tree', subject: 'signed tree head', findings: [{ item: 'audit tree head', problem: `malformed: ${head.detail}` }] };
  if (!head.ok) findings.push({ item: 'audit tree head', problem: head.detail });
  const { treeSize, rootHash } = treeHead as { treeSize: number; rootHash: string };
  const proofs = new Map(inclusionProofs.map((p) => [p.eventId, p]));
  for (const e of events) {
    const proof = proofs.get(e.id);
    const item = `audit event seq ${e.seq} (${e.action})`;
    if (!proof) findings.push({ item, problem: 'no inclusion proof' });
    else if (!verifyEventInclusion({ chainHash: hashAuditRow(e), chainSeq: proof.leafIndex + 1 }, proof, { treeSize, rootHash })) {
      findings.push({ item, problem: `not included in the tree of ${treeSize} events under the signed head` });
    }
  }
  const signedBy = head.ok ? `, signed by key ${head.key.keyId} at ${(treeHead as { timestamp: string }).timestamp}` : '';
  return { check: 'audit tree', subject: `${events.length} inclusion proofs under the tree head of ${treeSize} events${signedBy}`, findings };
}

/** The answer recorded in the manifest must be the last one the audit chain saw for that item. */
function checkAnswers(manifest: Manifest): EvidenceCheck {
  const lastAudited = new Map<string, { value: string; revision: number }>();
  for (const e of manifest.auditChain.events) {
    if (e.action === 'checklist.answered') {
      const d = e.data as { itemId: string; value: string; revision: number };
      lastAudited.set(d.itemId, { value: d.value, revision: d.revision });
    }
  }
  const findings: Finding[] = [];
  for (const a of manifest.answers) {
    const audited = lastAudited.get(a.itemId);
    if (!audited) findings.push({ item: `answer ${a.itemId}`, problem: 'no audit event records this answer' });
    else if (audited.value !== a.value || audited.revision !== a.revision) {
      findings.push({ item: `answer ${a.itemId}`, problem: `the manifest says ${a.value} (revision ${a.revision}), the audit chain ${audited.value} (revision ${audited.revision})` });
    }
  }
  return { check: 'answers', subject: `${manifest.answers.length} answers against the audit chain`, findings };
}

async function checkFiles(manifest: Manifest, filesDir: string): Promise<EvidenceCheck> {
  const files = [
    ...manifest.recordings.filter((r) => r.sha256).map((r) => ({ label: `recording ${r.id}`, file: r.file, sha256: r.sha256!, size: r.sizeBytes })),
    ...manifest.captures.map((c) => ({ label: `capture ${c.id}`, file: c.file, sha256: c.sha256, size: c.sizeBytes })),
    ...(manifest.faceMatches ?? []).flatMap((m) =>
      (['id', 'live'] as const).flatMap((side) => {
        const crop = m.crops[side];
        return crop ? [{ label: `face-match ${m.id} ${side} crop`, file: crop.file, sha256: crop.sha256, size: null }] : [];
      }),
    ),
  ];
  const findings: Finding[] = [];
  for (const f of files) {
    const digest = await fileDigest(join(filesDir, f.file));
    if (!digest) findings.push({ item: `${f.label} (${f.file})`, problem: 'the file is missing' });
    else if (digest.sha256 !== f.sha256) findings.push({ item: `${f.label} (${f.file})`, problem: `SHA-256 is ${digest.sha256}, the manifest says ${f.sha256}` });
    else if (f.size !== null && digest.size.toString() !== f.size) findings.push({ item: `${f.label} (${f.file})`, problem: `size is ${digest.size}, the manifest says ${f.size}` });
  }
  return { check: 'files', subject: `${manifest.recordings.length} recordings and ${manifest.captures.length} captures${manifest.faceMatches?.length ? ` (and ${manifest.faceMatches.length} face-match crop pairs)` : ''} against their SHA-256 and size`, findings };
}

/** Every check of the manifest and the files it names, in report order. */
export async function checkEvidence(manifest: Manifest, filesDir: string, keyring: Keyring): Promise<EvidenceCheck[]> {
  return [
    checkSignature(manifest, keyring),
    checkSeal(manifest),
    checkTemplate(manifest),
    checkAuditEvents(manifest),
    checkAuditTree(manifest, keyring),
    checkAnswers(manifest),
    await checkFiles(manifest, filesDir),
  ];
}

/** The problems of `checkEvidence`, in one list: empty when the package is intact. */
export async function verifyEvidence(manifest: Manifest, filesDir: string, keyring: Keyring): Promise<Finding[]> {
  return (await checkEvidence(manifest, filesDir, keyring)).flatMap((c) => c.findings);
}

export function checkEvidencePdf(pdf: Buffer, name: string, keyring: Keyring): EvidenceCheck {
  const verdict = verifyPdfSignature(pdf, keyring);
  const subject = verdict.key
    ? `${name}: PAdES signature (${verdict.subFilter}) by key ${verdict.key.keyId} at ${verdict.signedAt?.toISOString()}, covering the whole file`
    : `${name}: PAdES signature`;
  return { check: 'pdf', subject, findings: verdict.problems.map((problem) => ({ item: name, problem })) };
}

/**
 * The manifest a PDF carries as its attached file (pdfkit writes it as a Flate-compressed embedded
 * file stream), or undefined. The PDF's signature covers it, so a signed PDF is a package of its own.
 */
export function attachedManifest(pdf: Buffer): Manifest | undefined {
  const text = pdf.toString('latin1');
  for (const match of text.matchAll(/\/Type\s*\/EmbeddedFile\b/g)) {
    const open = text.lastIndexOf('<<', match.index);
    const streamAt = text.indexOf('stream', match.index);
    const dictionary = text.slice(open, streamAt);
    const length = Number(/\/Length\s+(\d+)/.exec(dictionary)?.[1]);
    if (!Number.isInteger(length)) continue;
    const start = streamAt + (text.startsWith('stream\r\n', streamAt) ? 8 : 7);
    const body = pdf.subarray(start, start + length);
    try {
      const json = JSON.parse((/\/Filter\s*\/FlateDecode/.test(dictionary) ? inflateSync(body) : body).toString('utf8')) as Partial<Manifest>;
      if (typeof json.format === 'string' && json.format.startsWith('facesign-evidence/')) return json as Manifest;
    } catch {
      continue;
    }
  }
  return undefined;
}
