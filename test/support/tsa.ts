// A local RFC 3161 time-stamping authority for tests: a CA and a TSA certificate made with openssl,
// and `openssl ts -reply` behind a loopback HTTP server.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LocalTsa {
  url: string;
  /** The CA that issued the TSA certificate (what a verifier trusts). */
  caPem: string;
  tsaCertPem: string;
  dir: string;
  /** Requests answered so far. */
  requests(): number;
  close(): Promise<void>;
}

export async function startLocalTsa(): Promise<LocalTsa> {
  const dir = mkdtempSync(join(tmpdir(), 'facesign-tsa-'));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '30', '-subj', '/CN=facesign test TSA root');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('tsa.key'), '-out', f('tsa.csr'), '-subj', '/CN=facesign test TSA');
  writeFileSync(f('ext.cnf'), 'extendedKeyUsage = critical, timeStamping\nkeyUsage = critical, digitalSignature\nbasicConstraints = CA:FALSE\n');
  openssl('x509', '-req', '-in', f('tsa.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('tsa.pem'), '-days', '10', '-extfile', f('ext.cnf'));
  writeFileSync(f('chain.pem'), `${readFileSync(f('tsa.pem'), 'utf8')}${readFileSync(f('ca.pem'), 'utf8')}`);
  writeFileSync(f('serial'), '01\n');
  writeFileSync(
    f('tsa.cnf'),
    [
      '[ tsa ]',
      'default_tsa = tsa_config',
      '[ tsa_config ]',
      `dir = ${dir}`,
      'serial = $dir/serial',
      'crypto_device = builtin',
      'signer_digest = sha256',
      'default_policy = 1.3.6.1.4.1.99999.1',
      'digests = sha256, sha384, sha512',
      'accuracy = secs:1',
      'ordering = no',
      'tsa_name = no',
      'ess_cert_id_chain = no',
      'ess_cert_id_alg = sha256',
      '',
    ].join('\n'),
  );
  let count = 0;
  let queue = Promise.resolve();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // openssl's serial file is not safe for concurrent replies: one at a time.
      queue = queue.then(async () => {
        const n = (count += 1);
        writeFileSync(f(`req-${n}.tsq`), Buffer.concat(chunks));
        try {
          await run('openssl', ['ts', '-reply', '-config', f('tsa.cnf'), '-queryfile', f(`req-${n}.tsq`), '-inkey', f('tsa.key'), '-signer', f('tsa.pem'), '-chain', f('chain.pem'), '-out', f(`resp-${n}.tsr`)]);
          res.writeHead(200, { 'Content-Type': 'application/timestamp-reply' }).end(readFileSync(f(`resp-${n}.tsr`)));
        } catch (error) {
          res.writeHead(500).end(String(error));
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/tsa`,
    caPem: readFileSync(f('ca.pem'), 'utf8'),
    tsaCertPem: readFileSync(f('tsa.pem'), 'utf8'),
    dir,
    requests: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
