// ECDSA signatures travel in two encodings: IEEE P1363 (`r || s`, fixed width; JWS, WebCrypto) and
// DER (`SEQUENCE { INTEGER r, INTEGER s }`; CMS, X.509, PAdES). These convert between them.

/** P-256's scalar width in bytes. */
const P256_WIDTH = 32;

/** `r || s` (64 bytes for P-256) to the DER `ECDSA-Sig-Value` CMS and X.509 carry. */
export function ecdsaP1363ToDer(signature: Uint8Array, width = P256_WIDTH): Uint8Array {
  if (signature.length !== 2 * width) throw new Error(`an ECDSA P1363 signature of ${2 * width} bytes was expected, got ${signature.length}`);
  const r = derInteger(signature.subarray(0, width));
  const s = derInteger(signature.subarray(width));
  return Uint8Array.from([0x30, ...derLength(r.length + s.length), ...r, ...s]);
}

/** The DER `ECDSA-Sig-Value` to `r || s`, each left-padded to `width` bytes. */
export function ecdsaDerToP1363(der: Uint8Array, width = P256_WIDTH): Uint8Array {
  let at = 0;
  const take = (tag: number): Uint8Array => {
    if (der[at] !== tag) throw new Error('not a DER ECDSA signature');
    at += 1;
    let length = der[at++] ?? 0;
    if (length & 0x80) {
      const bytes = length & 0x7f;
      if (bytes === 0 || bytes > 2) throw new Error('not a DER ECDSA signature');
      length = 0;
      for (let i = 0; i < bytes; i += 1) length = (length << 8) | (der[at++] ?? 0);
    }
    const value = der.subarray(at, at + length);
    if (value.length !== length) throw new Error('truncated DER ECDSA signature');
    at += length;
    return value;
  };
  const sequence = take(0x30);
  if (at !== der.length) throw new Error('trailing bytes after a DER ECDSA signature');
  der = sequence;
  at = 0;
  const r = take(0x02);
  const s = take(0x02);
  if (at !== der.length) throw new Error('not a DER ECDSA signature');
  const out = new Uint8Array(2 * width);
  out.set(unsigned(r, width), 0);
  out.set(unsigned(s, width), width);
  return out;
}

function derInteger(value: Uint8Array): number[] {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start += 1;
  const bytes = [...value.subarray(start)];
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return [0x02, ...derLength(bytes.length), ...bytes];
}

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  if (length < 0x100) return [0x81, length];
  return [0x82, length >> 8, length & 0xff];
}

function unsigned(integer: Uint8Array, width: number): Uint8Array {
  let start = 0;
  while (start < integer.length && integer[start] === 0) start += 1;
  const digits = integer.subarray(start);
  if (digits.length > width) throw new Error('ECDSA integer wider than the curve');
  const out = new Uint8Array(width);
  out.set(digits, width - digits.length);
  return out;
}
