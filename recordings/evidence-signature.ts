// The evidence manifest's signature: a JWS (RFC 7515) in flattened JSON serialization with a
// detached payload (Appendix F). The payload is the canonical JSON (server/audit/canonical-json.ts)
// of the manifest without its `signature` member, so the manifest stays readable JSON and any JOSE
// library can check it: put BASE64URL(canonical JSON) between the protected header and the signature.
// The protected header names the key (`kid`) and carries the certificate chain (`x5c`); the payload
// names the key and the signing time again in its `signing` block.
import { X509Certificate } from 'node:crypto';
import { canonicalJson } from '../server/audit/canonical-json.js';
import type { Keyring, KeyringEntry } from '../server/signing/keyring.js';
import type { Signer, SigningAlgorithm } from '../server/signing/signer.js';

export const EVIDENCE_JWS_TYPE = 'facesign-evidence+jws';

/** Inside the signed payload: which key signed, how, and when (the time the keyring window is checked at). */
export interface ManifestSigning {
  keyId: string;
  algorithm: SigningAlgorithm;
  signedAt: string;
}

/** Flattened JWS JSON serialization without `payload` (detached). */
export interface ManifestSignature {
  protected: string;
  signature: string;
}

interface ProtectedHeader {
  alg: SigningAlgorithm;
  kid: string;
  typ: string;
  x5c: string[];
}

const base64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

/** What the JWS signs: ASCII(protected) '.' ASCII(BASE64URL(canonical JSON of the manifest without `signature`)). */
export function manifestSigningInput(protectedHeader: string, manifest: Record<string, unknown>): Buffer {
  const { signature: _detached, ...payload } = manifest;
  return Buffer.from(`${protectedHeader}.${base64url(canonicalJson(payload))}`, 'ascii');
}

export function signingBlock(signer: Signer, signedAt: Date): ManifestSigning {
  return { keyId: signer.keyId, algorithm: signer.algorithm, signedAt: signedAt.toISOString() };
}

export async function signManifest<T extends { signing: ManifestSigning }>(manifest: T, signer: Signer): Promise<T & { signature: ManifestSignature }> {
  const header: ProtectedHeader = {
    alg: signer.algorithm,
    kid: signer.keyId,
    typ: EVIDENCE_JWS_TYPE,
    x5c: signer.certificateChainPem.map((pem) => Buffer.from(new X509Certificate(pem).raw).toString('base64')),
  };
  const protectedHeader = base64url(JSON.stringify(header));
  const signature = await signer.sign(manifestSigningInput(protectedHeader, manifest));
  return { ...manifest, signature: { protected: protectedHeader, signature: base64url(signature) } };
}

export interface ManifestSignatureVerdict {
  problems: string[];
  key: KeyringEntry | undefined;
  signing: ManifestSigning | undefined;
}

function parseHeader(encoded: string): ProtectedHeader | undefined {
  try {
    const header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Partial<ProtectedHeader>;
    if (typeof header.alg !== 'string' || typeof header.kid !== 'string' || !Array.isArray(header.x5c)) return undefined;
    return header as ProtectedHeader;
  } catch {
    return undefined;
  }
}

/**
 * Checks the manifest's JWS against the keyring: the key named by the header and by the signed
 * `signing` block must agree, be trusted at the signed time, and verify the signature; the
 * certificate the header carries must be the trusted one.
 */
export function verifyManifestSignature(manifest: Record<string, unknown>, keyring: Keyring): ManifestSignatureVerdict {
  const jws = manifest.signature as Partial<ManifestSignature> | undefined;
  const signing = manifest.signing as ManifestSigning | undefined;
  if (!jws || typeof jws.protected !== 'string' || typeof jws.signature !== 'string') return { problems: ['the manifest is not signed'], key: undefined, signing };
  if (!signing || typeof signing.keyId !== 'string' || typeof signing.signedAt !== 'string') return { problems: ['the manifest has no signing block (key id and signing time)'], key: undefined, signing: undefined };
  const header = parseHeader(jws.protected);
  if (!header) return { problems: ['the signature\'s protected header is not readable'], key: undefined, signing };
  if (header.typ !== EVIDENCE_JWS_TYPE) return { problems: [`the signature's type is ${String(header.typ)}, not ${EVIDENCE_JWS_TYPE}`], key: undefined, signing };
  if (header.kid !== signing.keyId || header.alg !== signing.algorithm) {
    return { problems: [`the header names key ${header.kid} (${header.alg}), the signed content key ${signing.keyId} (${signing.algorithm})`], key: undefined, signing };
  }
  const check = keyring.verify({
    keyId: header.kid,
    algorithm: header.alg,
    data: manifestSigningInput(jws.protected, manifest),
    signature: Buffer.from(jws.signature, 'base64url'),
    signedAt: new Date(signing.signedAt),
  });
  if (!check.ok) return { problems: [check.detail], key: undefined, signing };
  const carried = header.x5c[0] ? Buffer.from(header.x5c[0], 'base64') : undefined;
  if (!carried?.equals(check.key.certificate.node.raw)) return { problems: ['the certificate in the signature (x5c) is not the trusted certificate of its key'], key: undefined, signing };
  return { problems: [], key: check.key, signing };
}
