import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTimestampAuthority, verifyTimestampToken } from '../../server/audit/tsa.js';
import { generateSelfSignedIdentity } from '../../server/signing/self-signed.js';
import { startLocalTsa, type LocalTsa } from '../support/tsa.js';
import { startTestApp, TEST_BUCKET } from '../support/harness.js';
import { appendAudit } from '../../server/audit/audit.service.js';
import { sealAuditChain } from '../../server/audit/audit-sealer.service.js';
import { verifyAuditLog } from '../../server/audit/log-verify.js';
import { createS3Client, RecordingStore } from '../../recordings/object-store.js';

let tsa: LocalTsa;
beforeAll(async () => {
  tsa = await startLocalTsa();
});
afterAll(async () => tsa?.close());

describe('RFC 3161 time-stamps from a local openssl TSA', () => {
  const data = new TextEncoder().encode('the signature of a tree head');

  it('stamps data; the token verifies against the TSA CA and the TSA certificate, and openssl agrees', async () => {
    const token = await new HttpTimestampAuthority(tsa.url).stamp(data);
    const before = Date.now();
    const check = verifyTimestampToken(token, data, [tsa.caPem]);
    expect(check).toMatchObject({ ok: true, tsa: expect.stringContaining('facesign test TSA') });
    if (check.ok) expect(Math.abs(check.genTime.getTime() - before)).toBeLessThan(10_000);
    expect(verifyTimestampToken(token, data, [tsa.tsaCertPem]).ok).toBe(true);
    // An independent check of the same token.
    writeFileSync(join(tsa.dir, 'token.der'), token);
    writeFileSync(join(tsa.dir, 'data'), data);
    const out = execFileSync('openssl', ['ts', '-verify', '-data', join(tsa.dir, 'data'), '-in', join(tsa.dir, 'token.der'), '-token_in', '-CAfile', join(tsa.dir, 'ca.pem')], { stdio: 'pipe' }).toString();
    expect(out).toContain('Verification: OK');
  });

  it('refuses other data, an untrusted TSA, and a tampered token', async () => {
    const token = await new HttpTimestampAuthority(tsa.url).stamp(data);
    expect(verifyTimestampToken(token, new TextEncoder().encode('other'), [tsa.caPem])).toMatchObject({ ok: false, detail: expect.stringContaining('other data') });
    const stranger = await generateSelfSignedIdentity();
    expect(verifyTimestampToken(token, data, [stranger.certificatePem])).toMatchObject({ ok: false, detail: expect.stringContaining('not trusted') });
    // Flip a byte inside the TSTInfo's genTime region: find the GeneralizedTime tag (0x18) and change a digit.
    const tampered = Buffer.from(token);
    const at = tampered.indexOf(Buffer.from([0x18, 0x0f]));
    expect(at).toBeGreaterThan(0);
    tampered[at + 5] = tampered[at + 5] === 0x31 ? 0x32 : 0x31;
    expect(verifyTimestampToken(tampered, data, [tsa.caPem]).ok).toBe(false);
    expect(verifyTimestampToken(Uint8Array.of(1, 2, 3), data, [tsa.caPem])).toMatchObject({ ok: false, detail: expect.stringContaining('not a readable') });
  });

  it('fails the request when the TSA is unreachable', async () => {
    await expect(new HttpTimestampAuthority('http://127.0.0.1:9/tsa', 2000).stamp(data)).rejects.toThrow();
  });
});

describe('time-stamped tree heads', () => {
  it('each head carries a token over its signature, which audit:verify checks against TSA_CERT_FILE', async () => {
    writeFileSync(join(tsa.dir, 'trust.pem'), tsa.caPem);
    const app = await startTestApp({ TSA_URL: tsa.url, TSA_CERT_FILE: join(tsa.dir, 'trust.pem'), AUDIT_CHECKPOINT_SECONDS: '3600' });
    const store = new RecordingStore(createS3Client(app.facesign.config.s3), TEST_BUCKET);
    try {
      const add = async (id: string) => {
        await app.facesign.db.$transaction((tx) => appendAudit(tx, { actor: { type: 'SYSTEM' }, entity: { type: 'test', id }, event: { action: 'auth.logged_out', v: 1, data: { loginSessionId: '00000000-0000-4000-8000-000000000001' } } }));
        await sealAuditChain(app.facesign.db, { wait: true });
      };
      await add('a');
      // The scheduled checkpoint may run at start-up too: wait for the lock, then take the newest head.
      const publish = async () => {
        await app.facesign.auditCheckpoints.checkpoint({ wait: true });
        return (await app.facesign.auditCheckpoints.latest())!;
      };
      const head = await publish();
      expect(tsa.requests()).toBeGreaterThan(0);
      expect(head.timestampToken).toMatch(/^[A-Za-z0-9+/]+=*$/);
      const stamp = verifyTimestampToken(Buffer.from(head.timestampToken!, 'base64'), Buffer.from(head.signature, 'base64url'), [tsa.caPem]);
      expect(stamp).toMatchObject({ ok: true });
      // storage: the stored tree head keeps its token, which is what audit:verify reads back
      expect((await app.facesign.db.auditTreeHead.findUniqueOrThrow({ where: { treeSize: BigInt(head.treeSize) } })).timestampToken).not.toBeNull();

      await add('b');
      const second = await publish();
      const keyring = app.facesign.signing.keyring;
      // storage: how many heads are stored, each of which audit:verify must have checked
      const heads = await app.facesign.db.auditTreeHead.count();
      expect(heads).toBeGreaterThanOrEqual(2);
      expect(await verifyAuditLog({ db: app.facesign.db, store, keyring, tsaTrustPem: [tsa.caPem] })).toMatchObject({ ok: true, heads, notes: [] });
      // Without a trusted TSA certificate the tokens are noted, not judged.
      expect((await verifyAuditLog({ db: app.facesign.db, store, keyring })).notes[0]).toContain('carries an RFC 3161 timestamp, not checked');
      // Against another TSA's certificate they fail.
      const stranger = await generateSelfSignedIdentity();
      expect((await verifyAuditLog({ db: app.facesign.db, store, keyring, tsaTrustPem: [stranger.certificatePem] })).problems[0]).toMatch(
        new RegExp(`^head \\d+ \\(audit/heads/\\d{20}\\.json\\): RFC 3161 timestamp not valid: the TSA certificate .* is not trusted`),
      );
      expect(second.timestampToken).not.toBe(head.timestampToken);

      // The TSA down: the head is still published, without a token, and the failure is logged.
      await tsa.close();
      await add('c');
      const unstamped = await publish();
      expect(unstamped.timestampToken).toBeUndefined();
      expect(app.logs.some((line) => line.includes('did not stamp the audit tree head'))).toBe(true);
    } finally {
      await app.stop();
    }
  });
});
