// X.509 certificates and public keys as the signing module needs them: parsed once, named by key id,
// and able to check a raw signature. Parsing uses @peculiar/x509 (dates, extensions) and Node's
// crypto (keys, signature checks, issuer links).
import 'reflect-metadata';
import { createHash, createPublicKey, verify as verifyRaw, webcrypto, X509Certificate as NodeCertificate, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { SigningAlgorithm } from './signer.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

export interface ParsedCertificate {
  pem: string;
  keyId: string;
  algorithm: SigningAlgorithm;
  publicKey: KeyObject;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** Node's view of the same certificate, for issuer checks. */
  node: NodeCertificate;
}

/** Key id: base64url SHA-256 of the SubjectPublicKeyInfo (DER). */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
}

/** ES256 for ECDSA on P-256, EdDSA for Ed25519; any other key is refused. */
export function algorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new Error(`unsupported signing key ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''}: use ECDSA P-256 or Ed25519`);
}

export function parseCertificate(pem: string): ParsedCertificate {
  const cert = new x509.X509Certificate(pem);
  const node = new NodeCertificate(pem);
  const publicKey = node.publicKey;
  return {
    pem: cert.toString('pem'),
    keyId: keyIdOf(publicKey),
    algorithm: algorithmOf(publicKey),
    publicKey,
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    node,
  };
}

export interface PemBlock {
  pem: string;
  /** `Name: value` lines in the text before the block (explanatory text, RFC 7468 §5.2), names lower-cased. */
  headers: Record<string, string>;
}

/** The CERTIFICATE blocks of a PEM bundle, with the `Name: value` lines written above each. */
export function splitPemBundle(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const pattern = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const preamble = text.slice(last, match.index);
    const headers: Record<string, string> = {};
    for (const line of preamble.split(/\r?\n/)) {
      const header = /^\s*#?\s*([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.+?)\s*$/.exec(line);
      if (header) headers[header[1]!.toLowerCase()] = header[2]!;
    }
    blocks.push({ pem: `${match[0]}\n`, headers });
    last = match.index + match[0].length;
  }
  return blocks;
}

/** Checks a raw signature as the Signer interface makes it (ES256 in P1363 form). */
export function verifySignature(algorithm: SigningAlgorithm, publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (algorithm === 'ES256') {
      if (signature.length !== 64) return false;
      return verifyRaw('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
    }
    return verifyRaw(null, data, publicKey, signature);
  } catch {
    return false;
  }
}

/**
 * Checks that `chain` (signing certificate first) links, certificate by certificate, to one of
 * `anchors`: either a chain certificate is an anchor itself, or the last one is issued and signed by
 * an anchor. Validity dates are the keyring's business, not this function's.
 */
export function chainsToAnchor(chain: readonly string[], anchors: readonly string[]): boolean {
  if (chain.length === 0) return false;
  const certs = chain.map((pem) => new NodeCertificate(pem));
  const trusted = anchors.map((pem) => new NodeCertificate(pem));
  for (let i = 0; i < certs.length; i += 1) {
    const cert = certs[i]!;
    if (trusted.some((anchor) => anchor.raw.equals(cert.raw))) return true;
    const issuer = certs[i + 1];
    if (issuer) {
      if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) return false;
      continue;
    }
    return trusted.some((anchor) => cert.checkIssued(anchor) && cert.verify(anchor.publicKey));
  }
  return false;
}

export function publicKeyOfPrivate(key: KeyObject): KeyObject {
  return createPublicKey(key);
}
