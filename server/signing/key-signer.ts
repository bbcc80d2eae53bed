// A Signer over a private key held in this process, loaded from PEM files or a PKCS#12 file. A KMS
// or HSM implements the same Signer interface without ever handing out the key.
import { createPrivateKey, sign as signRaw, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import forge from 'node-forge';
import { keyIdOf, parseCertificate, publicKeyOfPrivate, splitPemBundle } from './certificates.js';
import type { Signer, SigningAlgorithm } from './signer.js';

export class KeySigner implements Signer {
  readonly keyId: string;
  readonly algorithm: SigningAlgorithm;
  readonly certificateChainPem: readonly string[];

  /** `certificateChainPem`: the signing certificate first; it must name `privateKey`'s public key. */
  constructor(private readonly privateKey: KeyObject, certificateChainPem: readonly string[]) {
    if (privateKey.type !== 'private') throw new Error('a private key is required');
    const [first] = certificateChainPem;
    if (!first) throw new Error('the signing certificate is missing');
    const cert = parseCertificate(first);
    if (cert.keyId !== keyIdOf(publicKeyOfPrivate(privateKey))) {
      throw new Error(`the signing certificate (${cert.subject}) does not belong to the signing key`);
    }
    this.keyId = cert.keyId;
    this.algorithm = cert.algorithm;
    this.certificateChainPem = Object.freeze(certificateChainPem.map((pem) => parseCertificate(pem).pem));
  }

  sign(data: Uint8Array): Promise<Uint8Array> {
    const signature = this.algorithm === 'ES256'
      ? signRaw('sha256', data, { key: this.privateKey, dsaEncoding: 'ieee-p1363' })
      : signRaw(null, data, this.privateKey);
    return Promise.resolve(new Uint8Array(signature));
  }
}

/** A private key (PKCS#8 or SEC1 PEM, optionally encrypted) and its certificate chain (PEM bundle). */
export async function loadPemSigner(keyFile: string, certFile: string, passphrase?: string): Promise<KeySigner> {
  const [keyPem, certPem] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase === undefined ? keyPem : { key: keyPem, passphrase });
  } catch (error) {
    throw new Error(`cannot read the signing key in ${keyFile}: ${(error as Error).message}`, { cause: error });
  }
  const chain = splitPemBundle(certPem).map((block) => block.pem);
  if (chain.length === 0) throw new Error(`no certificate in ${certFile}`);
  return new KeySigner(key, chain);
}

/**
 * A PKCS#12 file (as `openssl pkcs12 -export` writes it: PBES2/AES, or the legacy 3DES) with one
 * private key, its certificate and optionally the chain.
 */
export async function loadPkcs12Signer(file: string, passphrase: string): Promise<KeySigner> {
  const der = await readFile(file);
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary'))), passphrase);
  } catch (error) {
    throw new Error(`cannot open the PKCS#12 file ${file} (wrong passphrase, or not PKCS#12)`, { cause: error });
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? []),
  ];
  if (keyBags.length !== 1) throw new Error(`the PKCS#12 file ${file} must hold exactly one private key, it holds ${keyBags.length}`);
  const keyBag = keyBags[0]!;
  // forge decodes only RSA keys and certificates itself; others come back as ASN.1, which Node reads.
  const keyAsn1 = keyBag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keyBag.key)) : keyBag.asn1;
  if (!keyAsn1) throw new Error(`the PKCS#12 file ${file} holds an unreadable key`);
  const key = createPrivateKey({ key: Buffer.from(forge.asn1.toDer(keyAsn1).getBytes(), 'binary'), format: 'der', type: 'pkcs8' });
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
  const certs = certBags.map((bag) => {
    const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
    if (!asn1) throw new Error(`the PKCS#12 file ${file} holds an unreadable certificate`);
    return parseCertificate(forge.pem.encode({ type: 'CERTIFICATE', body: forge.asn1.toDer(asn1).getBytes() }));
  });
  const ownKeyId = keyIdOf(publicKeyOfPrivate(key));
  const leaf = certs.find((cert) => cert.keyId === ownKeyId);
  if (!leaf) throw new Error(`the PKCS#12 file ${file} has no certificate for its private key`);
  // The signing certificate first, then each issuer as far as the file has them.
  const chain = [leaf];
  for (;;) {
    const current = chain[chain.length - 1]!;
    if (current.subject === current.issuer) break;
    const issuer = certs.find((cert) => !chain.includes(cert) && current.node.checkIssued(cert.node));
    if (!issuer) break;
    chain.push(issuer);
  }
  return new KeySigner(key, chain.map((cert) => cert.pem));
}
