// The pure parts of signed evidence: the manifest's detached JWS (checked here also by hand, as an
// outsider with only node:crypto would), the CAdES-style CMS the PDF carries (checked also by
// `openssl cms -verify`), and the PAdES mechanics on a small pdfkit document.
import { execFile } from 'node:child_process';
import { verify, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import PDFDocument from 'pdfkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../server/audit/canonical-json.js';
import { Keyring } from '../../server/signing/keyring.js';
import { generateSelfSignedIdentity, type GeneratedIdentity } from '../../server/signing/self-signed.js';
import { signingCertificateV2, signDetachedCms, verifyDetachedCms } from '../../recordings/cms.js';
import { manifestSigningInput, signingBlock, signManifest, verifyManifestSignature } from '../../recordings/evidence-signature.js';
import { addSignaturePlaceholder, signPdf, verifyPdfSignature } from '../../recordings/pades.js';

const run = promisify(execFile);
let platform: GeneratedIdentity;
let other: GeneratedIdentity;
let keyring: Keyring;

beforeAll(async () => {
  platform = await generateSelfSignedIdentity();
  other = await generateSelfSignedIdentity();
  keyring = Keyring.forSigner(platform.signer);
});

async function signedManifest(identity = platform, signedAt = new Date()) {
  return signManifest({ format: 'facesign-evidence/2', answers: [{ itemId: 'loan_purpose', value: 'CONFIRMED' }], signing: signingBlock(identity.signer, signedAt) }, identity.signer);
}

describe('manifest JWS', () => {
  it('is a flattened JWS with a detached payload: the canonical JSON of the manifest without its signature', async () => {
    const manifest = await signedManifest();
    const header = JSON.parse(Buffer.from(manifest.signature.protected, 'base64url').toString('utf8')) as { alg: string; kid: string; typ: string; x5c: string[] };
    expect(header).toEqual({ alg: 'ES256', kid: platform.signer.keyId, typ: 'facesign-evidence+jws', x5c: [expect.any(String)] });
    // As an outsider would check it, with nothing but the certificate from x5c and node:crypto.
    const { signature, ...payload } = manifest;
    const input = `${signature.protected}.${Buffer.from(canonicalJson(payload)).toString('base64url')}`;
    const certificate = new X509Certificate(Buffer.from(header.x5c[0]!, 'base64'));
    expect(certificate.fingerprint256).toBe(new X509Certificate(platform.certificatePem).fingerprint256);
    expect(verify('sha256', Buffer.from(input), { key: certificate.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature.signature, 'base64url'))).toBe(true);
    expect(manifestSigningInput(signature.protected, manifest).toString('ascii')).toBe(input);
    expect(verifyManifestSignature(manifest, keyring)).toMatchObject({ problems: [], key: { keyId: platform.signer.keyId } });
  });

  it('signs with Ed25519 too', async () => {
    const ed = await generateSelfSignedIdentity({ algorithm: 'EdDSA' });
    const manifest = await signedManifest(ed);
    expect(verifyManifestSignature(manifest, Keyring.forSigner(ed.signer)).problems).toEqual([]);
  });

  it('fails on any change to the signed content, and names why', async () => {
    const manifest = await signedManifest();
    const changed = structuredClone(manifest);
    changed.answers[0]!.value = 'DENIED';
    expect(verifyManifestSignature(changed, keyring).problems).toEqual([expect.stringMatching(/does not verify/)]);

    const moved = structuredClone(manifest);
    moved.signing.signedAt = new Date(Date.now() - 86_400_000).toISOString();
    expect(verifyManifestSignature(moved, keyring).problems).toEqual([expect.stringMatching(/signs from .* not at/)]);

    const renamed = structuredClone(manifest);
    renamed.signing.keyId = other.signer.keyId;
    expect(verifyManifestSignature(renamed, keyring).problems).toEqual([expect.stringMatching(/the header names key/)]);

    const { signature: _dropped, ...unsigned } = manifest;
    expect(verifyManifestSignature(unsigned, keyring).problems).toEqual(['the manifest is not signed']);
  });

  it('trusts only the keyring: another key, or the trusted key id over another certificate, fails', async () => {
    expect(verifyManifestSignature(await signedManifest(other), keyring).problems).toEqual([expect.stringMatching(/not in the keyring/)]);
    const manifest = await signedManifest();
    const header = JSON.parse(Buffer.from(manifest.signature.protected, 'base64url').toString('utf8')) as { x5c: string[] };
    header.x5c = [Buffer.from(new X509Certificate(other.certificatePem).raw).toString('base64')];
    const swapped = { ...manifest, signature: { ...manifest.signature, protected: Buffer.from(JSON.stringify(header)).toString('base64url') } };
    expect(verifyManifestSignature(swapped, keyring).problems).toEqual([expect.stringMatching(/does not verify/)]);
  });

  it('accepts a retired key inside its window only', async () => {
    const signedAt = new Date();
    const manifest = await signedManifest(other, signedAt);
    const inside = Keyring.forSigner(platform.signer, [{ pem: other.certificatePem, retiredAt: new Date(signedAt.getTime() + 1000) }]);
    expect(verifyManifestSignature(manifest, inside)).toMatchObject({ problems: [], key: { status: 'retired' } });
    const outside = Keyring.forSigner(platform.signer, [{ pem: other.certificatePem, retiredAt: new Date(signedAt.getTime() - 1000) }]);
    expect(verifyManifestSignature(manifest, outside).problems).toEqual([expect.stringMatching(/signs from .* not at/)]);
  });
});

describe('detached CMS', () => {
  const content = Buffer.from('the PDF byte ranges');

  it('verifies, names the certificate in signing-certificate-v2, and passes openssl cms -verify', async () => {
    const cms = await signDetachedCms(content, platform.signer);
    expect(verifyDetachedCms(cms, content, keyring, new Date())).toMatchObject({ problems: [], key: { keyId: platform.signer.keyId } });
    const ess = signingCertificateV2(new X509Certificate(platform.certificatePem).raw);
    expect(cms.includes(ess)).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'facesign-cms-'));
    try {
      await writeFile(join(dir, 'sig.der'), cms);
      await writeFile(join(dir, 'content.bin'), content);
      const { stderr } = await run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(dir, 'sig.der'), '-content', join(dir, 'content.bin'), '-noverify', '-out', '/dev/null']);
      expect(stderr).toContain('Verification successful');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails for other content, another key, or a signing time outside the window', async () => {
    const cms = await signDetachedCms(content, platform.signer);
    expect(verifyDetachedCms(cms, Buffer.from('other bytes'), keyring, new Date()).problems).toEqual(["the signed bytes do not match the signature's message digest"]);
    expect(verifyDetachedCms(await signDetachedCms(content, other.signer), content, keyring, new Date()).problems).toEqual([expect.stringMatching(/not in the keyring/)]);
    expect(verifyDetachedCms(cms, content, keyring, new Date(Date.now() - 86_400_000)).problems).toEqual([expect.stringMatching(/signs from/)]);
    expect(verifyDetachedCms(Buffer.from('not cms'), content, keyring, new Date()).problems).toEqual(['the signature is not readable CMS']);
  });

  it('signs with Ed25519 (SHA-512 digest, RFC 8419)', async () => {
    const ed = await generateSelfSignedIdentity({ algorithm: 'EdDSA' });
    const cms = await signDetachedCms(content, ed.signer);
    expect(verifyDetachedCms(cms, content, Keyring.forSigner(ed.signer), new Date()).problems).toEqual([]);
  });
});

describe('PAdES', () => {
  async function signedPdf(identity = platform): Promise<Buffer> {
    const doc = new PDFDocument();
    doc.text('evidence');
    addSignaturePlaceholder(doc, { signedAt: new Date(), name: 'facesign evidence', reason: 'test' });
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => doc.on('end', resolve));
    doc.end();
    await ended;
    return signPdf(Buffer.concat(chunks), identity.signer);
  }

  it('writes an ETSI.CAdES.detached signature over the whole file, with /ByteRange and /M', async () => {
    const pdf = await signedPdf();
    const verdict = verifyPdfSignature(pdf, keyring);
    expect(verdict).toMatchObject({ problems: [], subFilter: 'ETSI.CAdES.detached', key: { keyId: platform.signer.keyId } });
    expect(Math.abs(verdict.signedAt!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(pdf.toString('latin1')).toMatch(/\/SigFlags 3/);
  });

  it('fails for an unsigned PDF, appended bytes, a changed byte, or another key', async () => {
    const pdf = await signedPdf();
    expect(verifyPdfSignature(Buffer.from('%PDF-1.3\n%%EOF\n'), keyring).problems).toEqual(['the PDF is not signed']);
    expect(verifyPdfSignature(Buffer.concat([pdf, Buffer.from('\n')]), keyring).problems).toEqual([expect.stringMatching(/does not cover the whole file/)]);
    const changed = Buffer.from(pdf);
    changed[20] = changed[20]! ^ 0x01;
    expect(verifyPdfSignature(changed, keyring).problems).toEqual(["the signed bytes do not match the signature's message digest"]);
    expect(verifyPdfSignature(await signedPdf(other), keyring).problems).toEqual([expect.stringMatching(/not in the keyring/)]);
  });
});
