// RFC 3161 time-stamps on signed tree heads: a request to a time-stamping authority over SHA-256 of
// the head's signature, and the offline check of the token it returns (CMS SignedData over a TSTInfo,
// signed by a certificate that must be, or chain to, the TSA certificate the verifier trusts).
import { createHash, randomBytes, verify as verifyRaw, X509Certificate } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { ContentInfo, id_signedData, SignedData } from '@peculiar/asn1-cms';
import { AlgorithmIdentifier, Certificate as CertificateSchema } from '@peculiar/asn1-x509';
import { id_ct_tstInfo, MessageImprint, PKIStatus, TimeStampReq, TimeStampResp, TSTInfo } from '@peculiar/asn1-tsp';
import { chainsToAnchor } from '../signing/certificates.js';
import type { TimestampAuthority } from './checkpoint.service.js';

const DIGESTS: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const SHA256 = '2.16.840.1.101.3.4.2.1';
const ID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const ID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
/** The DER of OBJECT IDENTIFIER id-ct-TSTInfo (1.2.840.113549.1.9.16.1.4), as the content-type attribute holds it. */
const TST_INFO_OID_DER = Buffer.from('060b2a864886f70d0109100104', 'hex');

/** Asks a TSA over HTTP (RFC 3161 §3.4) for a token over SHA-256 of the data, and checks that it answers that request. */
export class HttpTimestampAuthority implements TimestampAuthority {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async stamp(data: Uint8Array): Promise<Uint8Array> {
    const digest = createHash('sha256').update(data).digest();
    const nonce = randomBytes(8);
    nonce[0] = (nonce[0]! & 0x7f) | 0x01; // a positive INTEGER without a leading zero byte
    const request = new TimeStampReq({
      version: 1,
      messageImprint: new MessageImprint({ hashAlgorithm: new AlgorithmIdentifier({ algorithm: SHA256 }), hashedMessage: new OctetString(digest) }),
      nonce: toArrayBuffer(nonce),
      certReq: true,
    });
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/timestamp-query', Accept: 'application/timestamp-reply' },
      body: Buffer.from(AsnConvert.serialize(request)),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`the time-stamping authority answered HTTP ${res.status}`);
    const reply = AsnConvert.parse(Buffer.from(await res.arrayBuffer()), TimeStampResp);
    if (reply.status.status !== PKIStatus.granted && reply.status.status !== PKIStatus.grantedWithMods) {
      throw new Error(`the time-stamping authority refused the request (status ${reply.status.status}${reply.status.statusString ? `: ${[...reply.status.statusString].join(' ')}` : ''})`);
    }
    if (!reply.timeStampToken) throw new Error('the time-stamping authority granted no token');
    const token = new Uint8Array(AsnConvert.serialize(reply.timeStampToken));
    const tst = readToken(token).tstInfo;
    if (!sameBytes(tst.messageImprint.hashedMessage.buffer, digest)) throw new Error('the time-stamp token is for other data');
    if (!tst.nonce || !sameBytes(tst.nonce, nonce)) throw new Error('the time-stamp token does not answer this request (nonce)');
    return token;
  }
}

export type TimestampCheck =
  | { ok: true; genTime: Date; tsa: string }
  | { ok: false; detail: string };

/**
 * Checks a TimeStampToken (DER) over `data`: the message imprint, the CMS signature over the signed
 * attributes, the signer's certificate (from the token, matched to its signer identifier, with the
 * time-stamping extended key usage) and its chain to one of `trustedPem`.
 */
export function verifyTimestampToken(token: Uint8Array, data: Uint8Array, trustedPem: readonly string[]): TimestampCheck {
  try {
    const { signedData, tstInfo, eContent } = readToken(token);
    const imprintAlg = DIGESTS[tstInfo.messageImprint.hashAlgorithm.algorithm];
    if (!imprintAlg) return { ok: false, detail: `unsupported imprint digest ${tstInfo.messageImprint.hashAlgorithm.algorithm}` };
    if (!sameBytes(tstInfo.messageImprint.hashedMessage.buffer, createHash(imprintAlg).update(data).digest())) return { ok: false, detail: 'the token stamps other data' };
    if (signedData.signerInfos.length !== 1) return { ok: false, detail: 'the token must have exactly one signer' };
    const signer = signedData.signerInfos[0]!;
    const digestAlg = DIGESTS[signer.digestAlgorithm.algorithm];
    if (!digestAlg) return { ok: false, detail: `unsupported digest ${signer.digestAlgorithm.algorithm}` };
    const signedAttrsDer = signedAttributesOf(token);
    if (!signer.signedAttrs || !signedAttrsDer) return { ok: false, detail: 'the token has no signed attributes' };
    const attr = (type: string) => signer.signedAttrs!.find((a) => a.attrType === type)?.attrValues[0];
    const contentType = attr(ID_CONTENT_TYPE);
    if (!contentType || !sameBytes(contentType, TST_INFO_OID_DER)) return { ok: false, detail: 'the signed content type is not TSTInfo' };
    const messageDigest = attr(ID_MESSAGE_DIGEST);
    if (!messageDigest || !sameBytes(AsnConvert.parse(messageDigest, OctetString).buffer, createHash(digestAlg).update(eContent).digest())) {
      return { ok: false, detail: 'the signed message digest does not match the TSTInfo' };
    }
    const certificates = (signedData.certificates ?? []).flatMap((choice) => (choice.certificate ? [new X509Certificate(Buffer.from(AsnConvert.serialize(choice.certificate)))] : []));
    const candidates = [...certificates, ...trustedPem.map((pem) => new X509Certificate(pem))];
    const sid = signer.sid;
    const signerCert = candidates.find((cert) => {
      if (sid.issuerAndSerialNumber) {
        const serial = Buffer.from(sid.issuerAndSerialNumber.serialNumber).toString('hex').replace(/^(00)+/, '').toUpperCase();
        return cert.serialNumber.replace(/^(00)+/, '').toUpperCase() === serial && sameBytes(AsnConvert.serialize(sid.issuerAndSerialNumber.issuer), issuerDer(cert));
      }
      return false;
    });
    if (!signerCert) return { ok: false, detail: 'the token does not carry its signer certificate (or names it by subject key identifier)' };
    // The signature is over the DER of the signed attributes as a SET (RFC 5652 §5.4): the [0] tag becomes SET.
    const signedAttrs = Buffer.from(signedAttrsDer);
    signedAttrs[0] = 0x31;
    if (!verifyRaw(digestAlg, signedAttrs, signerCert.publicKey, Buffer.from(signer.signature.buffer))) return { ok: false, detail: 'the TSA signature does not verify' };
    if (!(signerCert.keyUsage ?? []).includes(ID_KP_TIME_STAMPING)) return { ok: false, detail: 'the signer certificate is not for time-stamping (extended key usage)' };
    const genTime = tstInfo.genTime;
    if (genTime < new Date(signerCert.validFrom) || genTime > new Date(signerCert.validTo)) return { ok: false, detail: 'the token was made outside its certificate validity' };
    const chain = [signerCert.toString(), ...certificates.filter((c) => !c.raw.equals(signerCert.raw)).map((c) => c.toString())];
    if (!chainsToAnchor(chain, trustedPem)) return { ok: false, detail: `the TSA certificate (${signerCert.subject.replace(/\n/g, ', ')}) is not trusted` };
    return { ok: true, genTime, tsa: signerCert.subject.replace(/\n/g, ', ') };
  } catch (error) {
    return { ok: false, detail: `not a readable time-stamp token: ${(error as Error).message}` };
  }
}

function readToken(token: Uint8Array): { signedData: SignedData; tstInfo: TSTInfo; eContent: Uint8Array } {
  const info = AsnConvert.parse(token, ContentInfo);
  if (info.contentType !== id_signedData) throw new Error('not CMS SignedData');
  const signedData = AsnConvert.parse(info.content, SignedData);
  const encap = signedData.encapContentInfo;
  if (encap.eContentType !== id_ct_tstInfo || !encap.eContent) throw new Error('the token does not hold a TSTInfo');
  const eContent = encap.eContent.single ? new Uint8Array(encap.eContent.single.buffer) : new Uint8Array(AsnConvert.parse(encap.eContent.any!, OctetString).buffer);
  return { signedData, tstInfo: AsnConvert.parse(eContent, TSTInfo), eContent };
}

interface Tlv {
  tag: number;
  /** Offset of the tag; `content` starts after the length, `end` is one past the value. */
  start: number;
  content: number;
  end: number;
}

/** The elements inside a DER constructed value `outer` of `der` (definite lengths only, as DER has). */
function childrenOf(der: Uint8Array, outer: Pick<Tlv, 'content' | 'end'>): Tlv[] {
  const out: Tlv[] = [];
  let at = outer.content;
  while (at < outer.end) {
    const start = at;
    const tag = der[at++]!;
    if ((tag & 0x1f) === 0x1f) throw new Error('multi-byte tags are not expected here');
    let length = der[at++]!;
    if (length & 0x80) {
      const bytes = length & 0x7f;
      if (bytes === 0 || bytes > 4) throw new Error('not DER');
      length = 0;
      for (let i = 0; i < bytes; i += 1) length = length * 256 + der[at++]!;
    }
    out.push({ tag, start, content: at, end: at + length });
    at += length;
    if (at > outer.end) throw new Error('truncated DER');
  }
  return out;
}

/**
 * The signed attributes of the token's signer exactly as the TSA encoded them (re-encoding parsed
 * attributes could change bytes the signature covers): ContentInfo → [0] → SignedData → signerInfos
 * (its last SET) → the SignerInfo → its [0] element.
 */
function signedAttributesOf(token: Uint8Array): Uint8Array | undefined {
  const [contentInfo] = childrenOf(token, { content: 0, end: token.length });
  const explicit = contentInfo && childrenOf(token, contentInfo).find((t) => t.tag === 0xa0);
  const signedData = explicit && childrenOf(token, explicit)[0];
  const signerInfos = signedData && childrenOf(token, signedData).filter((t) => t.tag === 0x31).at(-1);
  const signerInfo = signerInfos && childrenOf(token, signerInfos)[0];
  const attrs = signerInfo && childrenOf(token, signerInfo).find((t) => t.tag === 0xa0);
  return attrs ? token.subarray(attrs.start, attrs.end) : undefined;
}

function issuerDer(cert: X509Certificate): Uint8Array {
  // TBSCertificate.issuer, read with the same schema library as the signer identifier.
  return new Uint8Array(AsnConvert.serialize(AsnConvert.parse(cert.raw, CertificateSchema).tbsCertificate.issuer));
}

function sameBytes(a: ArrayBuffer | Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a instanceof Uint8Array ? a : new Uint8Array(a)).equals(Buffer.from(b));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
