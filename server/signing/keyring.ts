// The verification keyring: the current signing certificate and the retired ones, each with the window
// in which signatures by its key are accepted. A signature by a retired key verifies only when the
// time it claims to have been made falls inside that key's window, so rotating a key (and, after a
// compromise, retiring it early) never invalidates what was signed before, and nothing signed with
// the old key afterwards is accepted.
import { chainsToAnchor, parseCertificate, splitPemBundle, verifySignature, type ParsedCertificate } from './certificates.js';
import type { Signer, SigningAlgorithm } from './signer.js';

export interface KeyringEntry {
  keyId: string;
  algorithm: SigningAlgorithm;
  status: 'current' | 'retired';
  /** Signatures made in [validFrom, validUntil] are accepted: the certificate's validity, cut short at retiredAt. */
  validFrom: Date;
  validUntil: Date;
  retiredAt: Date | undefined;
  certificateChainPem: readonly string[];
  certificate: ParsedCertificate;
}

export type SignatureCheck =
  | { ok: true; key: KeyringEntry }
  | { ok: false; reason: 'unknown_key' | 'algorithm_mismatch' | 'outside_validity' | 'bad_signature'; detail: string };

/** The published form (GET /.well-known/facesign-signing-keys.json): public keys and certificates, nothing else. */
export interface KeyringDocument {
  version: 1;
  keys: Array<{
    keyId: string;
    algorithm: SigningAlgorithm;
    status: 'current' | 'retired';
    validFrom: string;
    validUntil: string;
    retiredAt?: string;
    /** The public key as a JWK (`kid` = keyId), for JOSE libraries. */
    jwk: Record<string, unknown>;
    certificateChainPem: string[];
  }>;
}

export interface RetiredCertificate {
  pem: string;
  /** When the key stopped signing; its signatures claiming a later time are refused. Default: the certificate's notAfter. */
  retiredAt?: Date | undefined;
}

export class Keyring {
  private readonly byId = new Map<string, KeyringEntry>();

  private constructor(entries: KeyringEntry[]) {
    for (const entry of entries) {
      const known = this.byId.get(entry.keyId);
      // The same key listed twice (current and retired, say): the current listing wins.
      if (!known || (known.status === 'retired' && entry.status === 'current')) this.byId.set(entry.keyId, entry);
    }
  }

  /** The signer's own certificate as current, plus retired certificates. */
  static forSigner(signer: Signer, retired: readonly RetiredCertificate[] = []): Keyring {
    return Keyring.forCertificates(signer.certificateChainPem, retired);
  }

  /** A current certificate chain (signing certificate first), plus retired certificates. */
  static forCertificates(currentChainPem: readonly string[], retired: readonly RetiredCertificate[] = []): Keyring {
    return new Keyring([entryOf('current', currentChainPem, undefined), ...retired.map((r) => entryOf('retired', [r.pem], r.retiredAt))]);
  }

  /**
   * Certificates an offline verifier trusts (a PEM bundle, e.g. `--trust cert.pem`), each as its own
   * key, valid over its certificate's validity or until a `Retired-At: <ISO time>` line above it.
   */
  static fromTrustedPem(text: string): Keyring {
    const blocks = splitPemBundle(text);
    if (blocks.length === 0) throw new Error('no certificate in the trusted PEM');
    return new Keyring(blocks.map((block) => entryOf(block.headers['retired-at'] ? 'retired' : 'current', [block.pem], parseRetiredAt(block.headers['retired-at']))));
  }

  /** The published document, as fetched from /.well-known/facesign-signing-keys.json. Key ids are recomputed, not trusted. */
  static fromDocument(document: unknown): Keyring {
    const doc = document as Partial<KeyringDocument> | null;
    if (!doc || doc.version !== 1 || !Array.isArray(doc.keys)) throw new Error('not a facesign signing keyring document (version 1)');
    return new Keyring(doc.keys.map((key) => {
      const entry = entryOf(key.status === 'current' ? 'current' : 'retired', key.certificateChainPem, key.retiredAt ? parseRetiredAt(key.retiredAt) : undefined);
      if (entry.keyId !== key.keyId) throw new Error(`keyring document: key ${key.keyId} does not match its certificate (${entry.keyId})`);
      return entry;
    }));
  }

  /** Retired certificates from a PEM bundle (SIGNING_RETIRED_CERTS_FILE), each optionally preceded by `Retired-At: <ISO time>`. */
  static parseRetired(text: string): RetiredCertificate[] {
    return splitPemBundle(text).map((block) => ({ pem: block.pem, retiredAt: parseRetiredAt(block.headers['retired-at']) }));
  }

  get entries(): KeyringEntry[] {
    return [...this.byId.values()];
  }

  get(keyId: string): KeyringEntry | undefined {
    return this.byId.get(keyId);
  }

  /** Checks that `signature` over `data` was made by key `keyId`, inside its window, at the claimed `signedAt`. */
  verify(input: { keyId: string; algorithm?: SigningAlgorithm; data: Uint8Array; signature: Uint8Array; signedAt: Date }): SignatureCheck {
    const key = this.byId.get(input.keyId);
    if (!key) return { ok: false, reason: 'unknown_key', detail: `key ${input.keyId} is not in the keyring` };
    if (input.algorithm && input.algorithm !== key.algorithm) {
      return { ok: false, reason: 'algorithm_mismatch', detail: `key ${key.keyId} signs ${key.algorithm}, not ${input.algorithm}` };
    }
    const at = input.signedAt.getTime();
    if (!(at >= key.validFrom.getTime() && at <= key.validUntil.getTime())) {
      return { ok: false, reason: 'outside_validity', detail: `key ${key.keyId} signs from ${key.validFrom.toISOString()} to ${key.validUntil.toISOString()}, not at ${Number.isNaN(at) ? 'an invalid time' : input.signedAt.toISOString()}` };
    }
    if (!verifySignature(key.algorithm, key.certificate.publicKey, input.data, input.signature)) {
      return { ok: false, reason: 'bad_signature', detail: `the signature does not verify with key ${key.keyId}` };
    }
    return { ok: true, key };
  }

  /** Whether every key's certificate chain leads to one of `anchors` (PEM certificates). */
  chainsTo(anchors: readonly string[]): boolean {
    return this.entries.every((entry) => chainsToAnchor(entry.certificateChainPem, anchors));
  }

  document(): KeyringDocument {
    return {
      version: 1,
      keys: this.entries.map((entry) => ({
        keyId: entry.keyId,
        algorithm: entry.algorithm,
        status: entry.status,
        validFrom: entry.validFrom.toISOString(),
        validUntil: entry.validUntil.toISOString(),
        ...(entry.retiredAt ? { retiredAt: entry.retiredAt.toISOString() } : {}),
        jwk: { ...entry.certificate.publicKey.export({ format: 'jwk' }), kid: entry.keyId, alg: entry.algorithm, use: 'sig' },
        certificateChainPem: [...entry.certificateChainPem],
      })),
    };
  }
}

function entryOf(status: 'current' | 'retired', chain: readonly string[], retiredAt: Date | undefined): KeyringEntry {
  const [first] = chain;
  if (!first) throw new Error('a keyring entry needs a certificate');
  const certificate = parseCertificate(first);
  const end = retiredAt && retiredAt < certificate.notAfter ? retiredAt : certificate.notAfter;
  return {
    keyId: certificate.keyId,
    algorithm: certificate.algorithm,
    status,
    validFrom: certificate.notBefore,
    validUntil: end,
    retiredAt,
    certificateChainPem: chain.map((pem) => parseCertificate(pem).pem),
    certificate,
  };
}

function parseRetiredAt(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new Error(`Retired-At: not a date: ${value}`);
  return at;
}
