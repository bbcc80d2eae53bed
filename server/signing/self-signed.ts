// A self-signed signing identity, for the demo, tests and development runs without a configured key.
// Production refuses to start without a configured key (config.ts), so these never sign real evidence.
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { x509 } from './certificates.js';
import { KeySigner } from './key-signer.js';
import type { SigningAlgorithm } from './signer.js';

export interface GeneratedIdentity {
  signer: KeySigner;
  /** PKCS#8 PEM, unencrypted: write it with mode 0600 if at all. */
  privateKeyPem: string;
  certificatePem: string;
}

export interface SelfSignedOptions {
  algorithm?: SigningAlgorithm;
  commonName?: string;
  notBefore?: Date;
  notAfter?: Date;
}

const ALGORITHMS = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  EdDSA: { name: 'Ed25519' },
} as const;

export async function generateSelfSignedIdentity(options: SelfSignedOptions = {}): Promise<GeneratedIdentity> {
  const algorithm = ALGORITHMS[options.algorithm ?? 'ES256'];
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 365 * 86_400_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${options.commonName ?? 'facesign signing (self-signed)'}, O=facesign`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const certificatePem = certificate.toString('pem');
  return {
    signer: new KeySigner(privateKey, [certificatePem]),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem,
  };
}
