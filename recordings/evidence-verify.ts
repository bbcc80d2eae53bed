// Checks an evidence package offline, without the database: the manifest's own seal, the checklist
// template against its hash, every audit event against its chain hash, each answer against the last
// audited answer to its item, and each recording and capture file against its SHA-256 and size.
// Every problem names the item it concerns.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../server/audit/canonical-json.js';
import { auditEventIntact, type ExportedAuditEvent } from '../server/audit/audit.service.js';
import { manifestHash } from './evidence.js';

export interface Finding {
  item: string;
  problem: string;
}

interface Manifest {
  manifestSha256?: string;
  template: { key: string; version: number; contentHash: string; definition: unknown };
  answers: { itemId: string; value: string; revision: number }[];
  recordings: { id: string; file: string; sha256: string | null; sizeBytes: string | null }[];
  captures: { id: string; file: string; sha256: string; sizeBytes: string }[];
  auditChain: { events: ExportedAuditEvent[] };
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

export async function verifyEvidence(manifest: Manifest, filesDir: string): Promise<Finding[]> {
  const findings: Finding[] = [];

  if (manifest.manifestSha256 !== manifestHash(manifest as unknown as Record<string, unknown>)) {
    findings.push({ item: 'manifest', problem: 'the manifest was changed after it was sealed (manifestSha256 does not match)' });
  }

  const templateHash = createHash('sha256').update(canonicalJson(manifest.template.definition)).digest('hex');
  if (templateHash !== manifest.template.contentHash) {
    findings.push({ item: `template ${manifest.template.key} v${manifest.template.version}`, problem: 'the template text does not match its content hash' });
  }

  for (const e of manifest.auditChain.events) {
    if (!auditEventIntact(e)) findings.push({ item: `audit event seq ${e.seq} (${e.action})`, problem: 'the event does not match its chain hash' });
  }

  // The answer recorded in the manifest must be the last one the audit chain saw for that item.
  const lastAudited = new Map<string, { value: string; revision: number }>();
  for (const e of manifest.auditChain.events) {
    if (e.action === 'checklist.answered') {
      const d = e.data as { itemId: string; value: string; revision: number };
      lastAudited.set(d.itemId, { value: d.value, revision: d.revision });
    }
  }
  for (const a of manifest.answers) {
    const audited = lastAudited.get(a.itemId);
    if (!audited) findings.push({ item: `answer ${a.itemId}`, problem: 'no audit event records this answer' });
    else if (audited.value !== a.value || audited.revision !== a.revision) {
      findings.push({ item: `answer ${a.itemId}`, problem: `the manifest says ${a.value} (revision ${a.revision}), the audit chain ${audited.value} (revision ${audited.revision})` });
    }
  }

  const files = [
    ...manifest.recordings.filter((r) => r.sha256).map((r) => ({ label: `recording ${r.id}`, file: r.file, sha256: r.sha256!, size: r.sizeBytes })),
    ...manifest.captures.map((c) => ({ label: `capture ${c.id}`, file: c.file, sha256: c.sha256, size: c.sizeBytes })),
  ];
  for (const f of files) {
    const digest = await fileDigest(join(filesDir, f.file));
    if (!digest) findings.push({ item: `${f.label} (${f.file})`, problem: 'the file is missing' });
    else if (digest.sha256 !== f.sha256) findings.push({ item: `${f.label} (${f.file})`, problem: `SHA-256 is ${digest.sha256}, the manifest says ${f.sha256}` });
    else if (f.size !== null && digest.size.toString() !== f.size) findings.push({ item: `${f.label} (${f.file})`, problem: `size is ${digest.size}, the manifest says ${f.size}` });
  }
  return findings;
}
