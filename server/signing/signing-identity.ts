// The platform signing identity as configured: the Signer and the keyring verifiers use. main.ts
// builds it once; evidence packages and signed tree heads sign with it.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { loadPemSigner, loadPkcs12Signer } from './key-signer.js';
import { splitPemBundle } from './certificates.js';
import { Keyring } from './keyring.js';
import { generateSelfSignedIdentity } from './self-signed.js';
import type { Signer } from './signer.js';

export interface SigningIdentity {
  signer: Signer;
  /** The signer's certificate (current) and the retired ones: what verifiers accept. */
  keyring: Keyring;
}

export async function loadSigningIdentity(config: Config['signing'], env: Config['env'], log: Logger): Promise<SigningIdentity> {
  const signer = await loadSigner(config.key, env, log);
  const retired = config.retiredCertsFile ? Keyring.parseRetired(await readFile(config.retiredCertsFile, 'utf8')) : [];
  const keyring = Keyring.forSigner(signer, retired);
  log.info({ keyId: signer.keyId, algorithm: signer.algorithm, retiredKeys: keyring.entries.filter((e) => e.status === 'retired').map((e) => e.keyId) }, 'signing identity loaded');
  return { signer, keyring };
}

async function loadSigner(key: Config['signing']['key'], env: Config['env'], log: Logger): Promise<Signer> {
  switch (key.kind) {
    case 'pem':
      return loadPemSigner(key.keyFile, key.certFile, key.passphrase);
    case 'pkcs12':
      return loadPkcs12Signer(key.file, key.passphrase);
    case 'ephemeral': {
      // config.ts refuses production without a key; this is the development and test path.
      if (env === 'production') throw new Error('a signing key is required in production');
      const { signer } = await generateSelfSignedIdentity({ commonName: 'facesign ephemeral development key' });
      log.warn({ keyId: signer.keyId }, 'no signing key configured (SIGNING_KEY_FILE/SIGNING_CERT_FILE or SIGNING_PKCS12_FILE): signing with an ephemeral self-signed key that is gone after a restart');
      return signer;
    }
  }
}

/**
 * The keyring a verifier (npm run audit:verify) builds from the same configuration, without the
 * private key where it can: the certificate file, or the PKCS#12 file. Undefined for an ephemeral
 * key, which no later process can know.
 */
export async function loadConfiguredKeyring(config: Config['signing']): Promise<Keyring | undefined> {
  const retired = config.retiredCertsFile ? Keyring.parseRetired(await readFile(config.retiredCertsFile, 'utf8')) : [];
  switch (config.key.kind) {
    case 'pem': {
      const chain = splitPemBundle(await readFile(config.key.certFile, 'utf8')).map((block) => block.pem);
      return Keyring.forCertificates(chain, retired);
    }
    case 'pkcs12':
      return Keyring.forSigner(await loadPkcs12Signer(config.key.file, config.key.passphrase), retired);
    case 'ephemeral':
      return undefined;
  }
}
