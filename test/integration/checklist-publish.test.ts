import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';
import { createDb } from '../../server/db/client.js';
import type { TemplateDocument } from '../../server/checklists/template.schema.js';
import {
  latestTemplate,
  loadTemplateFiles,
  publishTemplates,
  TemplateConflictError,
  templateDocumentOf,
  templateHash,
} from '../../server/checklists/templates.js';

let t: TestApp;
let sql: pg.Client;
let shipped: TemplateDocument[];
/** The rows the shipped files of `key` publish, oldest version first. */
const publishedRows = (key: string) => shipped.filter((d) => d.key === key).map((d) => ({ version: d.version, contentHash: templateHash(d) }));

beforeAll(async () => {
  t = await startTestApp();
  sql = new pg.Client({ connectionString: t.databaseUrl });
  await sql.connect();
  shipped = await loadTemplateFiles();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

function variant(key: string, version = 1, title = 'variant'): TemplateDocument {
  const doc = structuredClone(shipped.find((d) => d.key === 'call-default')!);
  return { ...doc, key, version, title: { 'zh-CN': `变体 ${title}`, en: `Variant ${title}` } };
}

async function rowsFor(key: string) {
  const { rows } = await sql.query<{ version: number; contentHash: string }>(
    `SELECT version, "contentHash" FROM "ChecklistTemplate" WHERE key = $1 ORDER BY version`,
    [key],
  );
  return rows;
}

describe('publishing checklist templates', () => {
  it('publishes the shipped templates at start-up, with their content hash and the document as definition', async () => {
    // The app published them when it booted; publishing into an empty database inserts them all.
    // storage: the published rows, their stored hash and the jsonb round trip are what this test is about
    const rows = await t.facesign.db.checklistTemplate.findMany({ where: { key: { in: ['call-automated', 'call-default', 'video-default'] } }, orderBy: [{ key: 'asc' }, { version: 'asc' }] });
    const shippedRows = [
      ['call-automated', 1, 'CALL'],
      ['call-default', 1, 'CALL'],
      ['call-default', 2, 'CALL'],
      ['video-default', 1, 'VIDEO'],
      ['video-default', 2, 'VIDEO'],
    ];
    expect(rows.map((r) => [r.key, r.version, r.kind])).toEqual(shippedRows);
    await sql.query(`ALTER TABLE "ChecklistTemplate" DISABLE TRIGGER checklist_template_no_update_delete`);
    await sql.query(`DELETE FROM "ChecklistTemplate"`);
    await sql.query(`ALTER TABLE "ChecklistTemplate" ENABLE TRIGGER checklist_template_no_update_delete`);
    const inserted = await publishTemplates(t.facesign.db, shipped);
    expect(inserted.map((r) => [r.key, r.version, r.kind])).toEqual(shippedRows);
    for (const doc of shipped) {
      // storage: the published rows and their content hash survive the jsonb round trip
      const row = await t.facesign.db.checklistTemplate.findUniqueOrThrow({ where: { key_version: { key: doc.key, version: doc.version } } });
      expect(row.contentHash).toBe(templateHash(doc));
      // jsonb reorders keys; the canonical hash must survive the round trip.
      expect(templateHash(templateDocumentOf(row))).toBe(row.contentHash);
      expect(templateDocumentOf(row)).toEqual(doc);
    }
  });

  it('inserts nothing when published again', async () => {
    const before = await sql.query(`SELECT id, "publishedAt" FROM "ChecklistTemplate" ORDER BY id`);
    expect(await publishTemplates(t.facesign.db, shipped)).toEqual([]);
    expect(await publishTemplates(t.facesign.db, await loadTemplateFiles())).toEqual([]);
    expect((await sql.query(`SELECT id, "publishedAt" FROM "ChecklistTemplate" ORDER BY id`)).rows).toEqual(before.rows);
  });

  it('refuses changed content under a published version, naming key and version, and inserts nothing from that batch', async () => {
    const changed = structuredClone(shipped.find((d) => d.key === 'video-default' && d.version === 1)!);
    changed.sections[0]!.items[0]!.prompt.en += ' Thank you.';
    const fresh = variant('innocent-bystander');

    const publishing = publishTemplates(t.facesign.db, [fresh, changed]);
    await expect(publishing).rejects.toBeInstanceOf(TemplateConflictError);
    await expect(publishing).rejects.toThrow(/video-default v1 .*different content.*bump the version/);
    await expect(publishing).rejects.toMatchObject({ key: 'video-default', version: 1, newHash: templateHash(changed) });

    expect(await rowsFor('video-default')).toEqual(publishedRows('video-default'));
    expect(await rowsFor('innocent-bystander')).toEqual([]);
  });

  it('refuses two different documents for one (key, version) in the same batch', async () => {
    await expect(publishTemplates(t.facesign.db, [variant('twins', 1, 'a'), variant('twins', 1, 'b')])).rejects.toThrow(/twins v1/);
    expect(await rowsFor('twins')).toEqual([]);
  });

  it('publishes each (key, version) exactly once when five processes publish at once', async () => {
    const docs = [variant('race', 1), variant('race', 2, 'two'), variant('race-other', 1)];
    const clients = Array.from({ length: 5 }, () => createDb({ url: t.databaseUrl, poolSize: 2 }));
    try {
      const results = await Promise.all(clients.map((db) => publishTemplates(db, docs)));
      // Every row was inserted by exactly one publisher; the others found it or lost the insert race.
      expect(results.flat().map((r) => `${r.key}@${r.version}`).sort()).toEqual(['race-other@1', 'race@1', 'race@2']);
    } finally {
      await Promise.all(clients.map((db) => db.$disconnect()));
    }
    expect(await rowsFor('race')).toEqual([
      { version: 1, contentHash: templateHash(docs[0]!) },
      { version: 2, contentHash: templateHash(docs[1]!) },
    ]);
    expect(await rowsFor('race-other')).toHaveLength(1);
  });

  it('lets exactly one of two racing publishers with different content win; the other is told', async () => {
    const a = variant('contested', 1, 'a');
    const b = variant('contested', 1, 'b');
    const clients = [createDb({ url: t.databaseUrl, poolSize: 1 }), createDb({ url: t.databaseUrl, poolSize: 1 })] as const;
    try {
      const [ra, rb] = await Promise.allSettled([publishTemplates(clients[0], [a]), publishTemplates(clients[1], [b])]);
      const outcomes = [ra.status, rb.status].sort();
      expect(outcomes).toEqual(['fulfilled', 'rejected']);
      const lost = [ra, rb].find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(TemplateConflictError);
      expect(lost.reason).toMatchObject({ key: 'contested', version: 1 });
      const won = ra.status === 'fulfilled' ? a : b;
      expect(await rowsFor('contested')).toEqual([{ version: 1, contentHash: templateHash(won) }]);
    } finally {
      await Promise.all(clients.map((db) => db.$disconnect()));
    }
  });

  it('latestTemplate returns the highest published version', async () => {
    await publishTemplates(t.facesign.db, [variant('laddered', 3, 'three'), variant('laddered', 1, 'one'), variant('laddered', 2, 'two')]);
    const latest = await latestTemplate(t.facesign.db, 'laddered');
    expect(latest).toMatchObject({ key: 'laddered', version: 3, kind: 'CALL' });
    expect(templateDocumentOf(latest!).title.en).toBe('Variant three');
    const newestCall = shipped.filter((d) => d.key === 'call-default').at(-1)!;
    expect(await latestTemplate(t.facesign.db, 'call-default')).toMatchObject({ version: newestCall.version, contentHash: templateHash(newestCall) });
    expect(await latestTemplate(t.facesign.db, 'never-published')).toBeNull();
  });

  it('the database itself rejects UPDATE and DELETE of a published template', async () => {
    await expect(sql.query(`UPDATE "ChecklistTemplate" SET "contentHash" = repeat('0', 64) WHERE key = 'call-default'`)).rejects.toThrow(
      /immutable/,
    );
    await expect(sql.query(`UPDATE "ChecklistTemplate" SET definition = '{}'::jsonb`)).rejects.toThrow(/immutable/);
    await expect(sql.query(`DELETE FROM "ChecklistTemplate" WHERE key = 'video-default'`)).rejects.toThrow(/immutable/);
    // storage: the database's own guard, through the app's client too
    await expect(t.facesign.db.checklistTemplate.deleteMany({ where: { key: 'call-default' } })).rejects.toThrow(/immutable/);
    expect(await rowsFor('call-default')).toEqual(publishedRows('call-default'));
    expect(await rowsFor('video-default')).toEqual(publishedRows('video-default'));
  });
});
