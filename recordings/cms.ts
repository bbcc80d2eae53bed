// CMS SignedData (RFC 5652) in the CAdES shape PAdES asks for (ETSI EN 319 122-1, baseline B-B): a
// detached signature over a digest computed elsewhere (the PDF's byte ranges), with the signed
// attributes content-type, message-digest and signing-certificate-v2 (which binds the signature to
// one certificate), and no signing-time attribute (PAdES puts the claimed time in the signature
// dictionary's /M). The private key never comes here: the platform `Signer` signs the attributes.
import { createHash, X509Certificate } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  Attribute,
  CertificateChoices,
  CertificateSet,
  CMSVersion,
  ContentInfo,
  DigestAlgorithmIdentifier,
  DigestAlgorithmIdentifiers,
  EncapsulatedContentInfo,
  id_data,
  id_signedData,
  IssuerAndSerialNumber,
  SignatureAlgorithmIdentifier,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
} from '@peculiar/asn1-cms';
import { Certificate } from '@peculiar/asn1-x509';
import type { Signer, SigningAlgorithm } from '../server/signing/signer.js';
import type { Keyring, KeyringEntry } from '../server/signing/keyring.js';
import { keyIdOf } from '../server/signing/certificates.js';
import { ecdsaDerToP1363, ecdsaP1363ToDer } from '../server/signing/ecdsa-signature.js';

const OID = {
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha512: '2.16.840.1.101.3.4.2.3',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ed25519: '1.3.101.112',
} as const;

/** ES256 digests with SHA-256; Ed25519 in CMS digests the content with SHA-512 (RFC 8419). */
const ALGORITHMS: Record<SigningAlgorithm, { digest: 'sha256' | 'sha512'; digestOid: string; signatureOid: string }> = {
  ES256: { digest: 'sha256', digestOid: OID.sha256, signatureOid: OID.ecdsaWithSha256 },
  EdDSA: { digest: 'sha512', digestOid: OID.sha512, signatureOid: OID.ed25519 },
};

// --- a few DER encoders: enough for the attribute values asn1-cms leaves as opaque bytes ---

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

function derOid(oid: string): Buffer {
  const arcs = oid.split('.').map(Number);
  const body: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    body.push(...chunk);
  }
  return der(0x06, Buffer.from(body));
}

/** A non-negative big-endian integer as DER INTEGER: leading zeros dropped, a zero added before a high bit. */
function derUnsignedInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const trimmed = Buffer.from(bytes.subarray(start));
  return der(0x02, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** The length of the DER element at the start of `bytes` (its header included). */
export function derElementLength(bytes: Uint8Array): number {
  const first = bytes[1];
  if (first === undefined) throw new Error('truncated DER');
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  let length = 0;
  for (let i = 0; i < count; i += 1) length = length * 256 + bytes[2 + i]!;
  return 2 + count + length;
}

/** ESS signing-certificate-v2 (RFC 5035) naming one certificate by SHA-256 (the default algorithm, so omitted) and issuer/serial. */
export function signingCertificateV2(certificateDer: Uint8Array): Buffer {
  const tbs = AsnConvert.parse(certificateDer, Certificate).tbsCertificate;
  const issuerSerial = der(0x30, der(0x30, der(0xa4, Buffer.from(AsnConvert.serialize(tbs.issuer)))), derUnsignedInteger(new Uint8Array(tbs.serialNumber)));
  const certId = der(0x30, der(0x04, createHash('sha256').update(certificateDer).digest()), issuerSerial);
  return der(0x30, der(0x30, certId));
}

function signedAttributes(contentDigest: Buffer, certificateDer: Uint8Array): Attribute[] {
  const attributes = [
    new Attribute({ attrType: OID.contentType, attrValues: [toArrayBuffer(derOid(id_data))] }),
    new Attribute({ attrType: OID.messageDigest, attrValues: [toArrayBuffer(der(0x04, contentDigest))] }),
    new Attribute({ attrType: OID.signingCertificateV2, attrValues: [toArrayBuffer(signingCertificateV2(certificateDer))] }),
  ];
  // DER orders a SET OF by the encodings of its elements; keep that order in the SignerInfo too.
  return attributes
    .map((attribute) => ({ attribute, encoded: Buffer.from(AsnConvert.serialize(attribute)) }))
    .sort((a, b) => Buffer.compare(a.encoded, b.encoded))
    .map((a) => a.attribute);
}

/** What is signed: the signed attributes encoded as an explicit SET OF (RFC 5652 §5.4). */
function signedAttributesInput(attributes: Attribute[]): Buffer {
  return der(0x31, ...attributes.map((a) => Buffer.from(AsnConvert.serialize(a))));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(new X509Certificate(pem).raw);
}

/** A detached CMS SignedData over `content`, signed by `signer`, carrying its certificate chain. */
export async function signDetachedCms(content: Uint8Array, signer: Signer): Promise<Buffer> {
  const algorithm = ALGORITHMS[signer.algorithm];
  const chain = signer.certificateChainPem.map(pemToDer);
  const leaf = chain[0];
  if (!leaf) throw new Error('the signer has no certificate');
  const leafCertificate = AsnConvert.parse(leaf, Certificate);
  const attributes = signedAttributes(createHash(algorithm.digest).update(content).digest(), leaf);
  const raw = await signer.sign(signedAttributesInput(attributes));
  const signature = signer.algorithm === 'ES256' ? Buffer.from(ecdsaP1363ToDer(raw)) : Buffer.from(raw);

  const signerInfo = new SignerInfo({
    version: CMSVersion.v1,
    sid: new SignerIdentifier({
      issuerAndSerialNumber: new IssuerAndSerialNumber({ issuer: leafCertificate.tbsCertificate.issuer, serialNumber: leafCertificate.tbsCertificate.serialNumber }),
    }),
    digestAlgorithm: new DigestAlgorithmIdentifier({ algorithm: algorithm.digestOid }),
    signedAttrs: attributes,
    signatureAlgorithm: new SignatureAlgorithmIdentifier({ algorithm: algorithm.signatureOid }),
    signature: new OctetString(signature),
  });
  const signedData = new SignedData({
    version: CMSVersion.v1,
    digestAlgorithms: new DigestAlgorithmIdentifiers([new DigestAlgorithmIdentifier({ algorithm: algorithm.digestOid })]),
    encapContentInfo: new EncapsulatedContentInfo({ eContentType: id_data }),
    certificates: new CertificateSet(chain.map((c) => new CertificateChoices({ certificate: AsnConvert.parse(c, Certificate) }))),
    signerInfos: new SignerInfos([signerInfo]),
  });
  return Buffer.from(AsnConvert.serialize(new ContentInfo({ contentType: id_signedData, content: AsnConvert.serialize(signedData) })));
}

export interface CmsVerdict {
  problems: string[];
  /** The trusted key that made the signature, when it verified. */
  key: KeyringEntry | undefined;
}

/**
 * Checks a detached CMS signature over `content` made at `signedAt` against the keyring: the key of
 * the certificate the CMS carries must be trusted at that time and verify the signed attributes, the
 * digest must match `content`, and signing-certificate-v2 must name exactly the trusted certificate.
 */
export function verifyDetachedCms(cms: Uint8Array, content: Uint8Array, keyring: Keyring, signedAt: Date): CmsVerdict {
  let signedData: SignedData;
  try {
    const info = AsnConvert.parse(cms.subarray(0, derElementLength(cms)), ContentInfo);
    if (info.contentType !== id_signedData) return { problems: ['the signature is not a CMS SignedData'], key: undefined };
    signedData = AsnConvert.parse(info.content, SignedData);
  } catch {
    return { problems: ['the signature is not readable CMS'], key: undefined };
  }
  const signerInfo = signedData.signerInfos[0];
  const embedded = signedData.certificates?.[0]?.certificate;
  if (!signerInfo || signedData.signerInfos.length !== 1) return { problems: ['the CMS does not hold exactly one signer'], key: undefined };
  if (!embedded) return { problems: ['the CMS carries no signing certificate'], key: undefined };
  const signerCertificate = new X509Certificate(Buffer.from(AsnConvert.serialize(embedded)));

  const algorithm = (Object.keys(ALGORITHMS) as SigningAlgorithm[]).find(
    (name) => ALGORITHMS[name].signatureOid === signerInfo.signatureAlgorithm.algorithm && ALGORITHMS[name].digestOid === signerInfo.digestAlgorithm.algorithm,
  );
  if (!algorithm) return { problems: [`unsupported algorithms ${signerInfo.digestAlgorithm.algorithm} / ${signerInfo.signatureAlgorithm.algorithm}`], key: undefined };
  const attributes = signerInfo.signedAttrs ?? [];
  // asn1-schema keeps no raw bytes of a repeated field: re-encode the attributes in the order read,
  // which gives back the signed bytes of any DER-encoded SignerInfo (ours are).
  const signedInput = signedAttributesInput(attributes);
  const rawSignature = Buffer.from(signerInfo.signature.buffer);
  let signature: Uint8Array;
  try {
    signature = algorithm === 'ES256' ? ecdsaDerToP1363(rawSignature) : rawSignature;
  } catch {
    return { problems: ['the signature value is not a DER ECDSA signature'], key: undefined };
  }
  const check = keyring.verify({ keyId: keyIdOf(signerCertificate.publicKey), algorithm, data: signedInput, signature, signedAt });
  if (!check.ok) return { problems: [check.detail], key: undefined };

  const problems: string[] = [];
  const trustedDer = check.key.certificate.node.raw;
  const value = (oid: string) => {
    const found = attributes.find((a) => a.attrType === oid)?.attrValues[0];
    return found ? Buffer.from(found) : undefined;
  };
  if (!value(OID.messageDigest)?.equals(der(0x04, createHash(ALGORITHMS[algorithm].digest).update(content).digest()))) {
    problems.push('the signed bytes do not match the signature\'s message digest');
  }
  if (!value(OID.contentType)?.equals(derOid(id_data))) problems.push('the content-type attribute is missing or wrong');
  if (!value(OID.signingCertificateV2)?.equals(signingCertificateV2(trustedDer))) problems.push('the signing-certificate-v2 attribute does not name the trusted certificate');
  if (!Buffer.from(signerCertificate.raw).equals(trustedDer)) problems.push('the CMS carries another certificate than the trusted one for its key');
  return { problems, key: problems.length === 0 ? check.key : undefined };
}
