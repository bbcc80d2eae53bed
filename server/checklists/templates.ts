// Checklist templates are data in the repo (./templates/<key>.v<version>.json) and published rows in
// Postgres. A published (key, version) is evidence and never changes (a trigger enforces it): new
// content is a new version. Publishing is idempotent and safe when several processes do it at once.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { canonicalJson } from '../audit/canonical-json.js';
import { isUniqueViolation, type Db, type Prisma } from '../db/client.js';
import type { ChecklistTemplate } from '../db/generated/prisma/client.js';
import { templateDocumentSchema, type TemplateDocument, type TemplateItem } from './template.schema.js';

export const TEMPLATES_DIR = fileURLToPath(new URL('./templates/', import.meta.url));

/** A template file that cannot be read, parsed or validated, or clashes with another file. */
export class TemplateFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`checklist template ${file}: ${message}`);
    this.name = 'TemplateFileError';
  }
}

/** A (key, version) is already published with other content. */
export class TemplateConflictError extends Error {
  constructor(
    readonly key: string,
    readonly version: number,
    readonly publishedHash: string,
    readonly newHash: string,
  ) {
    super(
      `checklist template ${key} v${version} is already published with different content ` +
        `(published ${publishedHash.slice(0, 12)}…, new ${newHash.slice(0, 12)}…); published versions are immutable: bump the version`,
    );
    this.name = 'TemplateConflictError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  return out || '(root)';
}

export function formatTemplateIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`).join('; ');
}

/** Reads and validates every `*.json` in `dir`, sorted by file name. Throws a TemplateFileError naming the file. */
export async function loadTemplateFiles(dir: string = TEMPLATES_DIR): Promise<TemplateDocument[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  const docs: TemplateDocument[] = [];
  const byKeyVersion = new Map<string, string>();
  for (const file of files) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(join(dir, file), 'utf8'));
    } catch (error) {
      throw new TemplateFileError(file, `is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    const parsed = templateDocumentSchema.safeParse(raw);
    if (!parsed.success) throw new TemplateFileError(file, formatTemplateIssues(parsed.error));
    const doc = parsed.data;
    const expected = `${doc.key}.v${doc.version}.json`;
    if (file !== expected) throw new TemplateFileError(file, `holds ${doc.key} v${doc.version}, so it must be named ${expected}`);
    const id = `${doc.key}@${doc.version}`;
    const other = byKeyVersion.get(id);
    if (other) throw new TemplateFileError(file, `${doc.key} v${doc.version} is also defined in ${other}`);
    byKeyVersion.set(id, file);
    docs.push(doc);
  }
  return docs;
}

/** SHA-256 (hex) of the canonical JSON of a template document: ChecklistTemplate.contentHash. */
export function templateHash(doc: TemplateDocument): string {
  return createHash('sha256').update(canonicalJson(doc)).digest('hex');
}

/**
 * Inserts each (key, version) that is not published yet and returns the inserted rows. A (key, version)
 * already published with the same hash is skipped; with a different hash it is a TemplateConflictError.
 * Conflicts visible before the first insert throw with nothing inserted.
 */
export async function publishTemplates(db: Db, docs: readonly TemplateDocument[]): Promise<ChecklistTemplate[]> {
  const pending = new Map<string, { doc: TemplateDocument; hash: string }>();
  for (const input of docs) {
    // Documents may be built in code rather than loaded from files: validate them the same way.
    const doc = templateDocumentSchema.parse(input);
    const hash = templateHash(doc);
    const id = `${doc.key}@${doc.version}`;
    const twin = pending.get(id);
    if (twin && twin.hash !== hash) throw new TemplateConflictError(doc.key, doc.version, twin.hash, hash);
    pending.set(id, { doc, hash });
  }
  if (pending.size === 0) return [];

  const published = await db.checklistTemplate.findMany({
    where: { OR: [...pending.values()].map(({ doc }) => ({ key: doc.key, version: doc.version })) },
    select: { key: true, version: true, contentHash: true },
  });
  const missing: { doc: TemplateDocument; hash: string }[] = [];
  for (const entry of pending.values()) {
    const row = published.find((r) => r.key === entry.doc.key && r.version === entry.doc.version);
    if (!row) missing.push(entry);
    else if (row.contentHash !== entry.hash) throw new TemplateConflictError(entry.doc.key, entry.doc.version, row.contentHash, entry.hash);
  }

  const inserted: ChecklistTemplate[] = [];
  for (const { doc, hash } of missing) {
    try {
      inserted.push(
        await db.checklistTemplate.create({
          data: { key: doc.key, version: doc.version, kind: doc.kind, definition: doc as Prisma.InputJsonObject, contentHash: hash },
        }),
      );
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // Another process published this (key, version) between our read and our insert.
      const winner = await db.checklistTemplate.findUnique({
        where: { key_version: { key: doc.key, version: doc.version } },
        select: { contentHash: true },
      });
      if (!winner) throw error;
      if (winner.contentHash !== hash) throw new TemplateConflictError(doc.key, doc.version, winner.contentHash, hash);
    }
  }
  return inserted;
}

/** The highest published version of `key`, or null when none is published. */
export async function latestTemplate(db: Db, key: string): Promise<ChecklistTemplate | null> {
  return db.checklistTemplate.findFirst({ where: { key }, orderBy: { version: 'desc' } });
}

/** The validated document of a published row. */
export function templateDocumentOf(row: Pick<ChecklistTemplate, 'definition'>): TemplateDocument {
  return templateDocumentSchema.parse(row.definition);
}

/** Every item, sections flattened in document order. */
export function itemsInOrder(doc: Pick<TemplateDocument, 'sections'>): TemplateItem[] {
  return doc.sections.flatMap((section) => section.items);
}
