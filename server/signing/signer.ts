// The platform's signing identity, as the rest of facesign sees it: a key that signs bytes and the
// X.509 certificate that names it. Loading from PEM or PKCS#12 is one implementation; a KMS or HSM
// implements the same interface and never hands out the private key.

/** JOSE names of the supported algorithms: Ed25519, or ECDSA on P-256 with SHA-256. */
export type SigningAlgorithm = 'EdDSA' | 'ES256';

export interface Signer {
  /** Names the key in every signed output: base64url SHA-256 of the certificate's SubjectPublicKeyInfo (DER). */
  readonly keyId: string;
  readonly algorithm: SigningAlgorithm;
  /** The signing certificate first, then any intermediates, each as PEM. */
  readonly certificateChainPem: readonly string[];
  /**
   * Signs `data` (the signer hashes it: SHA-256 for ES256, none for EdDSA). ES256 signatures come
   * back as IEEE P1363 `r || s` (64 bytes), the form JWS uses; CMS wants DER, see `ecdsaP1363ToDer`.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
}
