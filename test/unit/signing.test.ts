import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ecdsaDerToP1363, ecdsaP1363ToDer } from '../../server/signing/ecdsa-signature.js';
import { keyIdOf, parseCertificate } from '../../server/signing/certificates.js';
import { loadPemSigner, loadPkcs12Signer } from '../../server/signing/key-signer.js';
import { Keyring } from '../../server/signing/keyring.js';
import { generateSelfSignedIdentity } from '../../server/signing/self-signed.js';
import { loadConfig } from '../../server/config.js';
import { loadSigningIdentity } from '../../server/signing/signing-identity.js';

const data = new TextEncoder().encode('tree head 42');
const day = 86_400_000;

describe('self-signed identity', () => {
  it.each(['ES256', 'EdDSA'] as const)('%s: signs, and the certificate names the key by the SHA-256 of its SPKI', async (algorithm) => {
    const { signer, certificatePem } = await generateSelfSignedIdentity({ algorithm });
    expect(signer.algorithm).toBe(algorithm);
    const spki = createPublicKey(certificatePem).export({ type: 'spki', format: 'der' });
    expect(signer.keyId).toBe(createHash('sha256').update(spki).digest('base64url'));
    const signature = await signer.sign(data);
    if (algorithm === 'ES256') {
      expect(signature).toHaveLength(64);
      expect(nodeVerify('sha256', data, { key: createPublicKey(certificatePem), dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    } else {
      expect(nodeVerify(null, data, createPublicKey(certificatePem), signature)).toBe(true);
    }
  });

  it('is a certificate openssl reads as a non-CA ECDSA P-256 signing certificate', async () => {
    const { certificatePem } = await generateSelfSignedIdentity();
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: certificatePem }).toString();
    expect(text).toContain('ecdsa-with-SHA256');
    expect(text).toContain('prime256v1');
    expect(text).toContain('CA:FALSE');
    expect(text).toMatch(/Digital Signature, Non Repudiation/);
    // Self-signed: openssl verifies it against itself.
    const dir = mkdtempSync(join(tmpdir(), 'facesign-cert-'));
    writeFileSync(join(dir, 'c.pem'), certificatePem);
    expect(execFileSync('openssl', ['verify', '-CAfile', join(dir, 'c.pem'), join(dir, 'c.pem')]).toString()).toContain('OK');
  });
});

describe('loading keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facesign-keys-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '30', '-subj', '/CN=facesign test');
  openssl('pkcs12', '-export', '-inkey', join(dir, 'key.pem'), '-in', join(dir, 'cert.pem'), '-out', join(dir, 'id.p12'), '-passout', 'pass:correct horse');
  openssl('genpkey', '-algorithm', 'ed25519', '-out', join(dir, 'ed.pem'));
  openssl('req', '-x509', '-key', join(dir, 'ed.pem'), '-out', join(dir, 'ed-cert.pem'), '-days', '30', '-subj', '/CN=facesign ed');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', join(dir, 'p384.pem'), '-out', join(dir, 'p384-cert.pem'), '-days', '30', '-subj', '/CN=p384');

  it('reads a PEM key and certificate made by openssl, and openssl verifies what it signs', async () => {
    const signer = await loadPemSigner(join(dir, 'key.pem'), join(dir, 'cert.pem'));
    expect(signer.algorithm).toBe('ES256');
    const signature = await signer.sign(data);
    writeFileSync(join(dir, 'data'), data);
    writeFileSync(join(dir, 'sig.der'), ecdsaP1363ToDer(signature));
    openssl('x509', '-in', join(dir, 'cert.pem'), '-pubkey', '-noout', '-out', join(dir, 'pub.pem'));
    expect(openssl('dgst', '-sha256', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig.der'), join(dir, 'data')).toString()).toContain('Verified OK');
  });

  it('reads a PKCS#12 file as openssl 3 writes it (PBES2, AES-256), and refuses a wrong passphrase', async () => {
    const fromP12 = await loadPkcs12Signer(join(dir, 'id.p12'), 'correct horse');
    const fromPem = await loadPemSigner(join(dir, 'key.pem'), join(dir, 'cert.pem'));
    expect(fromP12.keyId).toBe(fromPem.keyId);
    expect(fromP12.certificateChainPem).toEqual(fromPem.certificateChainPem);
    expect(Keyring.forSigner(fromPem).verify({ keyId: fromP12.keyId, data, signature: await fromP12.sign(data), signedAt: new Date() }).ok).toBe(true);
    await expect(loadPkcs12Signer(join(dir, 'id.p12'), 'wrong')).rejects.toThrow(/wrong passphrase/);
  });

  it('reads Ed25519 keys, and refuses other curves and a certificate of another key', async () => {
    const signer = await loadPemSigner(join(dir, 'ed.pem'), join(dir, 'ed-cert.pem'));
    expect(signer.algorithm).toBe('EdDSA');
    await expect(loadPemSigner(join(dir, 'p384.pem'), join(dir, 'p384-cert.pem'))).rejects.toThrow(/P-256 or Ed25519/);
    await expect(loadPemSigner(join(dir, 'key.pem'), join(dir, 'ed-cert.pem'))).rejects.toThrow(/does not belong/);
  });
});

describe('keyring and rotation', () => {
  it('accepts a retired key only inside its window, and the current key only inside its certificate', async () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const old = await generateSelfSignedIdentity({ notBefore: t0, notAfter: new Date(t0.getTime() + 365 * day) });
    const current = await generateSelfSignedIdentity({ notBefore: new Date(t0.getTime() + 100 * day), notAfter: new Date(t0.getTime() + 800 * day) });
    const retiredAt = new Date(t0.getTime() + 120 * day);
    const keyring = Keyring.forSigner(current.signer, [{ pem: old.certificatePem, retiredAt }]);
    const oldSignature = await old.signer.sign(data);
    const check = (signature: Uint8Array, keyId: string, at: number) => keyring.verify({ keyId, data, signature, signedAt: new Date(t0.getTime() + at * day) });

    expect(check(oldSignature, old.signer.keyId, 50)).toMatchObject({ ok: true, key: { status: 'retired' } });
    expect(check(oldSignature, old.signer.keyId, 121)).toMatchObject({ ok: false, reason: 'outside_validity' });
    expect(check(oldSignature, old.signer.keyId, -1)).toMatchObject({ ok: false, reason: 'outside_validity' });
    expect(check(await current.signer.sign(data), current.signer.keyId, 500)).toMatchObject({ ok: true, key: { status: 'current' } });
    expect(check(await current.signer.sign(data), current.signer.keyId, 801)).toMatchObject({ ok: false, reason: 'outside_validity' });
    expect(check(oldSignature, current.signer.keyId, 500)).toMatchObject({ ok: false, reason: 'bad_signature' });
    const stranger = await generateSelfSignedIdentity();
    expect(check(await stranger.signer.sign(data), stranger.signer.keyId, 500)).toMatchObject({ ok: false, reason: 'unknown_key' });
    expect(keyring.verify({ keyId: current.signer.keyId, algorithm: 'EdDSA', data, signature: oldSignature, signedAt: new Date(t0.getTime() + 500 * day) })).toMatchObject({ ok: false, reason: 'algorithm_mismatch' });
  });

  it('round-trips through the published document and through a trusted PEM bundle with Retired-At lines', async () => {
    const old = await generateSelfSignedIdentity();
    const current = await generateSelfSignedIdentity({ algorithm: 'EdDSA' });
    const retiredAt = new Date(Date.now() + day);
    const keyring = Keyring.forSigner(current.signer, Keyring.parseRetired(`Retired-At: ${retiredAt.toISOString()}\n${old.certificatePem}`));
    const document = JSON.parse(JSON.stringify(keyring.document())) as ReturnType<Keyring['document']>;
    expect(document.keys.map((k) => [k.keyId, k.status])).toEqual([[current.signer.keyId, 'current'], [old.signer.keyId, 'retired']]);
    expect(document.keys[1]!.validUntil).toBe(retiredAt.toISOString());
    expect(document.keys[0]!.jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: current.signer.keyId });
    expect(JSON.stringify(document)).not.toMatch(/PRIVATE/);

    const fromDocument = Keyring.fromDocument(document);
    const signedAt = new Date();
    expect(fromDocument.verify({ keyId: old.signer.keyId, data, signature: await old.signer.sign(data), signedAt }).ok).toBe(true);
    expect(fromDocument.verify({ keyId: old.signer.keyId, data, signature: await old.signer.sign(data), signedAt: new Date(retiredAt.getTime() + 1) }).ok).toBe(false);
    const tampered = structuredClone(document);
    tampered.keys[0]!.keyId = old.signer.keyId;
    expect(() => Keyring.fromDocument(tampered)).toThrow(/does not match/);

    const trusted = Keyring.fromTrustedPem(`${current.certificatePem}\nRetired-At: ${retiredAt.toISOString()}\n${old.certificatePem}`);
    expect(trusted.get(old.signer.keyId)?.validUntil).toEqual(retiredAt);
    expect(trusted.get(current.signer.keyId)?.status).toBe('current');
  });

  it('checks certificate chains against trust anchors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facesign-ca-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', '30', '-subj', '/CN=lender CA');
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'leaf.key'), '-out', join(dir, 'leaf.csr'), '-subj', '/CN=facesign');
    openssl('x509', '-req', '-in', join(dir, 'leaf.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'leaf.pem'), '-days', '10');
    const chain = `${execFileSync('cat', [join(dir, 'leaf.pem'), join(dir, 'ca.pem')]).toString()}`;
    writeFileSync(join(dir, 'chain.pem'), chain);
    const signer = await loadPemSigner(join(dir, 'leaf.key'), join(dir, 'chain.pem'));
    expect(signer.certificateChainPem).toHaveLength(2);
    const ca = execFileSync('cat', [join(dir, 'ca.pem')]).toString();
    expect(Keyring.forSigner(signer).chainsTo([ca])).toBe(true);
    expect(Keyring.forSigner(signer).chainsTo([(await generateSelfSignedIdentity()).certificatePem])).toBe(false);
    expect(parseCertificate(signer.certificateChainPem[0]!).issuer).toContain('lender CA');
    expect(keyIdOf(createPublicKey(signer.certificateChainPem[0]!))).toBe(signer.keyId);
  });
});

describe('ECDSA signature encodings', () => {
  it('P1363 and DER convert both ways, and DER from Node verifies', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (raw) => {
      expect(ecdsaDerToP1363(ecdsaP1363ToDer(raw))).toEqual(raw);
    }));
  });
  it('matches what Node produces in each encoding', async () => {
    const { privateKeyPem, certificatePem } = await generateSelfSignedIdentity();
    for (let i = 0; i < 20; i += 1) {
      const der = nodeSign('sha256', data, { key: privateKeyPem, dsaEncoding: 'der' });
      const p1363 = ecdsaDerToP1363(der);
      expect(nodeVerify('sha256', data, { key: createPublicKey(certificatePem), dsaEncoding: 'ieee-p1363' }, p1363)).toBe(true);
      expect(Buffer.from(ecdsaP1363ToDer(p1363))).toEqual(der);
    }
  });
  it('refuses malformed input', () => {
    expect(() => ecdsaP1363ToDer(new Uint8Array(63))).toThrow();
    expect(() => ecdsaDerToP1363(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x01]))).toThrow();
  });
});

describe('signing identity from configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facesign-identity-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '30', '-subj', '/CN=facesign test'], { stdio: 'pipe' });
  execFileSync('openssl', ['pkcs12', '-export', '-inkey', join(dir, 'key.pem'), '-in', join(dir, 'cert.pem'), '-out', join(dir, 'id.p12'), '-passout', 'pass:s3cret-passphrase-value'], { stdio: 'pipe' });
  const capture = () => {
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, done) => { lines.push(chunk.toString()); done(); } }));
    return { log, lines };
  };

  it('loads the configured PKCS#12 key, logs its key id and never its passphrase, and lists retired certificates', async () => {
    const { log, lines } = capture();
    const old = await generateSelfSignedIdentity();
    writeFileSync(join(dir, 'retired.pem'), `Retired-At: 2030-01-01T00:00:00Z\n${old.certificatePem}`);
    const config = loadConfig({ SIGNING_PKCS12_FILE: join(dir, 'id.p12'), SIGNING_PKCS12_PASSPHRASE: 's3cret-passphrase-value', SIGNING_RETIRED_CERTS_FILE: join(dir, 'retired.pem') });
    const identity = await loadSigningIdentity(config.signing, config.env, log);
    expect(identity.keyring.entries.map((e) => [e.keyId, e.status])).toEqual([[identity.signer.keyId, 'current'], [old.signer.keyId, 'retired']]);
    expect(lines.join('')).toContain(identity.signer.keyId);
    expect(lines.join('')).not.toContain('s3cret-passphrase-value');
  });

  it('outside production without a key: an ephemeral self-signed ES256 key, with a warning', async () => {
    const { log, lines } = capture();
    const identity = await loadSigningIdentity({ key: { kind: 'ephemeral' }, retiredCertsFile: undefined }, 'development', log);
    expect(identity.signer.algorithm).toBe('ES256');
    expect(lines.some((l) => l.includes('"level":40') && l.includes('ephemeral self-signed key'))).toBe(true);
    await expect(loadSigningIdentity({ key: { kind: 'ephemeral' }, retiredCertsFile: undefined }, 'production', log)).rejects.toThrow(/required in production/);
  });
});

describe('signing configuration', () => {
  it('production refuses to start without a signing key', () => {
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgresql://x@h/db', REDIS_URL: 'redis://h', PUBLIC_URL: 'https://facesign.example' };
    expect(() => loadConfig(production)).toThrow(/a signing key is required in production/);
    expect(loadConfig({ ...production, SIGNING_PKCS12_FILE: '/k.p12', SIGNING_PKCS12_PASSPHRASE: 'p' }).signing.key).toEqual({ kind: 'pkcs12', file: '/k.p12', passphrase: 'p' });
  });
  it('outside production an ephemeral key is allowed; half a PEM configuration is not', () => {
    expect(loadConfig({}).signing.key).toEqual({ kind: 'ephemeral' });
    expect(() => loadConfig({ SIGNING_KEY_FILE: '/k.pem' })).toThrow(/SIGNING_KEY_FILE, SIGNING_CERT_FILE/);
    expect(() => loadConfig({ SIGNING_KEY_FILE: '/k.pem', SIGNING_CERT_FILE: '/c.pem', SIGNING_PKCS12_FILE: '/k.p12' })).toThrow(/one way/);
  });
});
