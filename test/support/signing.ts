// A self-signed platform signing key written to files, as an operator would configure one.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSignedIdentity, type GeneratedIdentity, type SelfSignedOptions } from '../../server/signing/self-signed.js';

export interface SigningFiles extends GeneratedIdentity {
  keyFile: string;
  certFile: string;
  /** SIGNING_KEY_FILE and SIGNING_CERT_FILE for startTestApp. */
  env: { SIGNING_KEY_FILE: string; SIGNING_CERT_FILE: string };
}

export async function signingFiles(options: SelfSignedOptions = {}): Promise<SigningFiles> {
  const identity = await generateSelfSignedIdentity(options);
  const dir = await mkdtemp(join(tmpdir(), 'facesign-signing-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await writeFile(keyFile, identity.privateKeyPem, { mode: 0o600 });
  await writeFile(certFile, identity.certificatePem);
  return { ...identity, keyFile, certFile, env: { SIGNING_KEY_FILE: keyFile, SIGNING_CERT_FILE: certFile } };
}
