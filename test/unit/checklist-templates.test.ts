import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  placeholdersIn,
  TEMPLATE_PLACEHOLDERS,
  templateDocumentSchema,
  type LocalizedText,
  type TemplateDocument,
} from '../../server/checklists/template.schema.js';
import { itemsInOrder, loadTemplateFiles, TemplateFileError, templateHash } from '../../server/checklists/templates.js';

let docs: TemplateDocument[];
let call: TemplateDocument;
let video: TemplateDocument;

beforeAll(async () => {
  docs = await loadTemplateFiles();
  // The latest version of each default is what new sessions get.
  call = docs.filter((d) => d.key === 'call-default').at(-1)!;
  video = docs.filter((d) => d.key === 'video-default').at(-1)!;
});

const clone = (doc: TemplateDocument): TemplateDocument => structuredClone(doc);

function localizedTexts(doc: TemplateDocument): [string, LocalizedText][] {
  const out: [string, LocalizedText][] = [['title', doc.title]];
  for (const s of doc.sections) {
    out.push([`${s.id}.title`, s.title]);
    for (const item of s.items) {
      out.push([`${item.id}.prompt`, item.prompt]);
      if (item.guidance) out.push([`${item.id}.guidance`, item.guidance]);
    }
  }
  for (const p of doc.livenessPool ?? []) out.push([`${p.id}.prompt`, p.prompt]);
  return out;
}

function allIds(doc: TemplateDocument): string[] {
  return [...doc.sections.flatMap((s) => [s.id, ...s.items.map((i) => i.id)]), ...(doc.livenessPool ?? []).map((p) => p.id)];
}

/** The default call checklist's items and whether each is required: item id -> required. */
const CALL_ITEMS: Record<string, boolean> = {
  consent_recording: true,
  identity_name: true,
  identity_id_last4: true,
  identity_phone_owner: true,
  willingness_self_applied: true,
  willingness_wants_loan: true,
  loan_purpose: true,
  loan_amount_term: true,
  repayment_plan: true,
  repayment_source: true,
  fees_rate_disclosure: true,
  info_employer: false,
  info_income: false,
  info_address: false,
  closing_statement: false,
  risk_assessment: false,
};
const VIDEO_ITEMS: Record<string, boolean> = {
  ...CALL_ITEMS,
  environment_check: false,
  capture_id_front: true,
  capture_id_back: true,
  identity_face_match: true,
  liveness_check: true,
  collateral_confirmation: false,
  contract_key_terms: true,
  contract_agree_to_sign: true,
  contract_signing_otp: true,
};

const CJK = /[\u4e00-\u9fff]/;

describe('shipped templates', () => {
  it('are exactly the two defaults, valid, in versions 1 and 2, and the automated call script', () => {
    expect(docs.map((d) => [d.key, d.version, d.kind])).toEqual([
      ['call-automated', 1, 'CALL'],
      ['call-default', 1, 'CALL'],
      ['call-default', 2, 'CALL'],
      ['video-default', 1, 'VIDEO'],
      ['video-default', 2, 'VIDEO'],
    ]);
  });

  it.each(['call-default', 'video-default'])('%s: every id is unique across the template', (key) => {
    const ids = allIds(docs.filter((d) => d.key === key).at(-1)!);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each(['call-default', 'video-default'])('%s: every text is in Chinese and in English, with the same placeholders', (key) => {
    for (const [where, text] of localizedTexts(docs.filter((d) => d.key === key).at(-1)!)) {
      expect(text['zh-CN'].trim(), where).not.toBe('');
      expect(text.en.trim(), where).not.toBe('');
      expect(text['zh-CN'], `${where} zh-CN`).toMatch(CJK);
      expect(text.en.replace('解押', ''), `${where} en`).not.toMatch(CJK);
      expect(placeholdersIn(text['zh-CN']).sort(), where).toEqual(placeholdersIn(text.en).sort());
      for (const name of placeholdersIn(text.en)) expect(Object.keys(TEMPLATE_PLACEHOLDERS), where).toContain(name);
    }
  });

  it('the call checklist has the default items with their required flags', () => {
    expect(Object.fromEntries(itemsInOrder(call).map((i) => [i.id, i.required]))).toEqual(CALL_ITEMS);
  });

  it('the video checklist has the call items plus the video ones, with their required flags', () => {
    expect(Object.fromEntries(itemsInOrder(video).map((i) => [i.id, i.required]))).toEqual(VIDEO_ITEMS);
  });

  it('item kinds follow the domain: consent, identity captures, liveness, contract, risk assessment', () => {
    const kind = (doc: TemplateDocument, id: string) => itemsInOrder(doc).find((i) => i.id === id)?.kind;
    for (const doc of [call, video]) {
      expect(kind(doc, 'consent_recording')).toBe('consent');
      expect(kind(doc, 'risk_assessment')).toBe('risk_assessment');
    }
    expect(itemsInOrder(video).filter((i) => i.kind === 'capture').map((i) => i.id)).toEqual(['capture_id_front', 'capture_id_back']);
    expect(itemsInOrder(video).filter((i) => i.kind === 'liveness').map((i) => i.id)).toEqual(['liveness_check']);
    expect(itemsInOrder(video).filter((i) => i.kind === 'contract').map((i) => i.id)).toEqual([
      'contract_key_terms',
      'contract_agree_to_sign',
      'contract_signing_otp',
    ]);
    expect(video.livenessPool!.length).toBeGreaterThanOrEqual(6);
    expect(call.livenessPool).toBeUndefined();
  });

  it('opens with consent, closes in fixed order, and randomises the sections in between that may vary', () => {
    for (const doc of [call, video]) {
      const first = doc.sections[0]!;
      const last = doc.sections.at(-1)!;
      expect(first.items[0]!.id).toBe('consent_recording');
      expect(first.randomize).toBe(false);
      expect(last.id).toBe('closing');
      expect(last.randomize).toBe(false);
      expect(doc.sections.filter((s) => s.randomize).map((s) => s.id)).toEqual(['identity', 'willingness', 'loan_terms', 'information']);
    }
    expect(video.sections.find((s) => s.id === 'contract')!.randomize).toBe(false);
  });

  it('keep published hashes: a shipped version never changes (edit -> new file with the next version)', () => {
    expect(Object.fromEntries(docs.map((d) => [`${d.key}.v${d.version}`, templateHash(d)]))).toEqual(PUBLISHED);
  });

  // The agent answers the assessment like every other item, and the outcome rules read DENIED as "not so":
  // the item must state what all is well looks like, so that Confirmed means no sign of risk was seen.
  it.each(['call-default', 'video-default'])("%s: the agent's assessment is a statement Confirmed when nothing was wrong", (key) => {
    const item = itemsInOrder(docs.filter((d) => d.key === key).at(-1)!).find((i) => i.id === 'risk_assessment')!;
    expect(item.prompt.en).toMatch(/^Agent's assessment \(do not ask the party\): confirm that /);
    expect(item.prompt.en).not.toContain('?');
    expect(item.prompt['zh-CN']).toContain('请确认');
    expect(item.prompt['zh-CN']).not.toMatch(/[?？]/);
    expect(item.guidance!.en).toMatch(/^Confirmed: none of these signs\. Denied: at least one sign was present/);
    expect(item.guidance!['zh-CN']).toMatch(/全部属实选“确认”。发现任一迹象选“否认”/);
  });
});

// The content hashes of the published files. If this fails, a published file was edited: restore it and
// put the change in <key>.v<next>.json.
const PUBLISHED = {
  'call-automated.v1': 'e3443de2f33f4539f551b76fdb86e23f661f7fe32d77de3e0b423cf000cea715',
  'call-default.v1': '9271b1bc96e9ae469aaaa3c9a4faf385a5fea553dcc8252aaa623b492ab9db0c',
  'call-default.v2': '742d0413a806f9d338063d440716a6b48693f2a9575987da47a8e3cf34e502d1',
  'video-default.v1': '46265510009b7a9d4e7b675ad5c10c64685b0d2a23978273ceb1798953720e2b',
  'video-default.v2': '479fc0fdd93eadaeb83938c7e1e68fefb5972967739d094f69dfcb84c92c19d5',
};

function issuesOf(input: unknown): { path: string; message: string }[] {
  const result = templateDocumentSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('template schema', () => {
  it('accepts the shipped documents unchanged', () => {
    expect(templateDocumentSchema.parse(clone(video))).toEqual(video);
  });

  it('rejects an item id used twice, naming the second place', () => {
    const doc = clone(call);
    doc.sections[2]!.items[1]!.id = 'identity_name';
    expect(issuesOf(doc)).toEqual([{ path: 'sections.2.items.1.id', message: expect.stringMatching(/duplicate id "identity_name".*sections\.1\.items\.0\.id/) }]);
  });

  it('rejects an id shared between a section, an item or a liveness prompt', () => {
    const doc = clone(video);
    doc.sections[1]!.items[0]!.id = 'opening';
    doc.livenessPool![0]!.id = 'liveness_check';
    expect(issuesOf(doc).map((i) => i.path)).toEqual(['sections.1.items.0.id', 'livenessPool.0.id']);
  });

  it.each(['Identity', '1abc', 'a', 'has-dash', 'x'.repeat(65)])('rejects the malformed id %j', (bad) => {
    const doc = clone(call);
    doc.sections[0]!.items[0]!.id = bad;
    expect(issuesOf(doc).map((i) => i.path)).toEqual(['sections.0.items.0.id']);
  });

  it('rejects a missing or blank translation', () => {
    const missing = clone(call) as unknown as { sections: { items: { prompt: Record<string, string> }[] }[] };
    delete missing.sections[1]!.items[2]!.prompt.en;
    expect(issuesOf(missing).map((i) => i.path)).toEqual(['sections.1.items.2.prompt.en']);

    const blank = clone(video);
    blank.sections[0]!.title['zh-CN'] = '   ';
    blank.livenessPool![3]!.prompt.en = '';
    expect(issuesOf(blank).map((i) => i.path)).toEqual(['sections.0.title.zh-CN', 'livenessPool.3.prompt.en']);
  });

  it('rejects unknown placeholders and placeholders that differ between the languages', () => {
    const doc = clone(call);
    doc.sections[0]!.items[0]!.prompt.en = 'Hello {customerName}, this is {agentName} from {lenderName}.';
    doc.sections[3]!.items[2]!.prompt['zh-CN'] = '每期应还{instalment}。';
    const issues = issuesOf(doc);
    expect(issues.map((i) => i.path)).toEqual(['sections.0.items.0.prompt.en', 'sections.0.items.0.prompt', 'sections.3.items.2.prompt']);
    expect(issues[0]!.message).toMatch(/unknown placeholder \{customerName\}/);
  });

  it('rejects a VIDEO liveness item without a pool, and with an empty pool', () => {
    const { livenessPool: _dropped, ...noPool } = clone(video);
    expect(issuesOf(noPool)).toEqual([{ path: 'livenessPool', message: expect.stringMatching(/non-empty livenessPool/) }]);
    expect(issuesOf({ ...clone(video), livenessPool: [] })).toEqual([{ path: 'livenessPool', message: expect.stringMatching(/non-empty livenessPool/) }]);
  });

  it('rejects a second liveness item, a pool without a liveness item, and camera items in a CALL template', () => {
    const twice = clone(video);
    twice.sections[2]!.items[2]!.kind = 'liveness';
    expect(issuesOf(twice).map((i) => i.path)).toEqual(['sections.2.items.3']);

    const poolOnly = clone(video);
    poolOnly.sections[2]!.items[3]!.kind = 'identity';
    expect(issuesOf(poolOnly).map((i) => i.path)).toEqual(['livenessPool']);

    const call2 = clone(call);
    call2.sections[1]!.items[0]!.kind = 'capture';
    expect(issuesOf(call2).map((i) => i.path)).toEqual(['sections.1.items.0.kind']);
  });

  it('rejects unknown fields (a typo must not vanish silently from a published script)', () => {
    const doc = { ...clone(call), sections: [{ ...clone(call).sections[0]!, randomise: true }] };
    expect(issuesOf(doc).map((i) => i.path)).toEqual(['sections.0']);
  });

  it.each([0, 1.5, -1])('rejects version %s', (version) => {
    expect(issuesOf({ ...clone(call), version }).map((i) => i.path)).toEqual(['version']);
  });
});

describe('templateHash', () => {
  function reverseKeys(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(reverseKeys);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
    }
    return value;
  }

  it('is sha256 hex and does not depend on key order', () => {
    const reordered = reverseKeys(video) as TemplateDocument;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(video));
    expect(templateHash(video)).toMatch(/^[0-9a-f]{64}$/);
    expect(templateHash(reordered)).toBe(templateHash(video));
  });

  it('changes with any content, including item order', () => {
    const base = templateHash(call);
    const prompt = clone(call);
    prompt.sections[1]!.items[0]!.prompt.en += ' ';
    const order = clone(call);
    order.sections[1]!.items.reverse();
    const flag = clone(call);
    flag.sections[5]!.items[0]!.required = true;
    expect(new Set([base, templateHash(prompt), templateHash(order), templateHash(flag)]).size).toBe(4);
  });
});

describe('loadTemplateFiles', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function folder(files: Record<string, unknown>): Promise<string> {
    dir = await mkdtemp(join(tmpdir(), 'facesign-templates-'));
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
    }
    return dir;
  }

  it('names the file and the issue path of an invalid template', async () => {
    const doc = clone(call);
    doc.sections[3]!.items[1]!.prompt.en = '';
    const loading = loadTemplateFiles(await folder({ 'call-default.v1.json': doc, 'notes.txt': 'ignored' }));
    await expect(loading).rejects.toBeInstanceOf(TemplateFileError);
    await expect(loading).rejects.toThrow('checklist template call-default.v1.json: sections[3].items[1].prompt.en: must not be empty');
  });

  it('names a file that is not JSON', async () => {
    await expect(loadTemplateFiles(await folder({ 'broken.v1.json': '{ "key": ' }))).rejects.toThrow(/broken\.v1\.json: is not valid JSON/);
  });

  it('requires the file name to match key and version', async () => {
    await expect(loadTemplateFiles(await folder({ 'call-default.v2.json': { ...clone(call), version: 1 } }))).rejects.toThrow(
      'checklist template call-default.v2.json: holds call-default v1, so it must be named call-default.v1.json',
    );
  });

  it('loads only *.json files, sorted by name', async () => {
    const [v1, v2] = [1, 2].map((version) => ({ ...clone(call), version }));
    const loaded = await loadTemplateFiles(await folder({ 'call-default.v2.json': v2, 'call-default.v1.json': v1, 'README.md': '# x' }));
    expect(loaded.map((d) => d.version)).toEqual([1, 2]);
  });
});
