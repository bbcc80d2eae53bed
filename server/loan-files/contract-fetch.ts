// Fetching a contract the LOS names by URL. The LOS says where the PDF is and what its SHA-256 is;
// facesign fetches it server-side, which is a request on the network the LOS chooses, so only where
// the operator allowed: https to allow-listed hosts (plain http and private addresses only for hosts
// listed for them), no redirect off the origin, every address the name resolves to checked at
// connect time (the address connected to is the address checked, so DNS cannot swap it afterwards),
// bounded in time and in size.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { AppError } from '../shared/errors.js';

export interface ContractFetchPolicy {
  /** Host names or IP addresses, optionally `host:port`; empty: fetching is off. */
  allowedHosts: string[];
  /** Of the allowed hosts, those that may be fetched over plain http. */
  httpHosts: string[];
  /** Of the allowed hosts, those that may resolve to private, loopback or link-local addresses. */
  privateHosts: string[];
  connectTimeoutMs: number;
  /** The whole fetch, redirects and body included. */
  timeoutMs: number;
}

const MAX_REDIRECTS = 3;

/**
 * Addresses a fetch never reaches unless the host is listed in privateHosts. Two lists: a BlockList
 * matches IPv4 addresses against IPv4-mapped IPv6 rules too, so one list would block every IPv4
 * address; a mapped IPv6 address is checked as the IPv4 address it carries.
 */
const NON_PUBLIC_V4 = new BlockList();
const NON_PUBLIC_V6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC_V4.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NON_PUBLIC_V6.addSubnet(net, prefix, 'ipv6');
}

/** Whether an address is on the public internet (not private, loopback, link-local, multicast or reserved). */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !NON_PUBLIC_V4.check(address, 'ipv4');
  if (family !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]!);
  if (/^::ffff:/i.test(address)) return false; // mapped, written in hex: not worth parsing, never public here
  return !NON_PUBLIC_V6.check(address, 'ipv6');
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
const defaultPort = (url: URL) => (url.protocol === 'https:' ? '443' : '80');

function listed(list: string[], url: URL): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port || defaultPort(url);
  return list.some((entry) => {
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    return match !== null && match[1] === host && (match[2] === undefined || match[2] === port);
  });
}

/**
 * The URL, if policy allows fetching it; otherwise CONTRACT_FETCH_DISABLED (no hosts allowed at all)
 * or CONTRACT_URL_NOT_ALLOWED, naming why. Addresses of host names are checked at connect time.
 */
export function checkContractUrl(raw: string, policy: ContractFetchPolicy): URL {
  if (policy.allowedHosts.length === 0) throw new AppError('CONTRACT_FETCH_DISABLED', 'Fetching contracts by URL is off on this server (CONTRACT_FETCH_ALLOWED_HOSTS is empty); upload the PDF instead');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('CONTRACT_URL_NOT_ALLOWED', 'The url is not an absolute URL');
  }
  if (url.username || url.password) throw new AppError('CONTRACT_URL_NOT_ALLOWED', 'The url must not carry credentials');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AppError('CONTRACT_URL_NOT_ALLOWED', 'Only https URLs are fetched');
  if (!listed(policy.allowedHosts, url)) throw new AppError('CONTRACT_URL_NOT_ALLOWED', `${url.host} is not in CONTRACT_FETCH_ALLOWED_HOSTS`);
  if (url.protocol === 'http:' && !listed(policy.httpHosts, url)) throw new AppError('CONTRACT_URL_NOT_ALLOWED', 'Only https URLs are fetched');
  const host = hostOf(url);
  if (isIP(host) && !isPublicAddress(host) && !listed(policy.privateHosts, url)) {
    throw new AppError('CONTRACT_URL_NOT_ALLOWED', `${host} is not a public address`);
  }
  return url;
}

/** A DNS lookup that refuses names resolving to a non-public address, unless the host may. */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      const refused = addresses.find((a) => !allowPrivate && !isPublicAddress(a.address));
      if (refused || addresses.length === 0) {
        const error = new AppError('CONTRACT_URL_NOT_ALLOWED', `${hostname} resolves to ${refused?.address ?? 'no address'}, which is not a public address`);
        return callback(error as unknown as NodeJS.ErrnoException, '', 4);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/**
 * GETs the URL (checked by checkContractUrl) and returns at most maxBytes of body; a larger body is
 * PAYLOAD_TOO_LARGE, read no further. Redirects are followed within the same origin only.
 */
export async function fetchContractBytes(start: URL, policy: ContractFetchPolicy, maxBytes: number): Promise<Buffer> {
  const deadline = AbortSignal.timeout(policy.timeoutMs);
  let url = start;
  for (let hop = 0; ; hop += 1) {
    const res = await get(url, policy, deadline);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      const next = new URL(res.headers.location, url);
      if (next.origin !== url.origin) throw new AppError('CONTRACT_URL_NOT_ALLOWED', `The server redirected to another origin (${next.origin}); redirects are followed within ${url.origin} only`);
      if (hop >= MAX_REDIRECTS) throw new AppError('CONTRACT_FETCH_FAILED', `More than ${MAX_REDIRECTS} redirects`);
      url = checkContractUrl(next.href, policy);
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new AppError('CONTRACT_FETCH_FAILED', `The server answered ${status}`);
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.destroy();
      throw new AppError('PAYLOAD_TOO_LARGE', `The document is ${declared} bytes; a contract may be at most ${maxBytes} bytes`);
    }
    return readBounded(res, maxBytes);
  }
}

function timeoutError(policy: ContractFetchPolicy): AppError {
  return new AppError('CONTRACT_FETCH_TIMEOUT', `The document was not fetched within ${policy.timeoutMs} ms`);
}

function get(url: URL, policy: ContractFetchPolicy, deadline: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (deadline.aborted) return reject(timeoutError(policy));
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, {
      method: 'GET',
      headers: { accept: 'application/pdf', 'user-agent': 'facesign-contract-fetch' },
      lookup: guardedLookup(listed(policy.privateHosts, url)),
      // A fresh connection per fetch: a pooled socket would skip the address check.
      agent: false,
    });
    let response: IncomingMessage | undefined;
    const onDeadline = () => {
      const error = timeoutError(policy);
      if (response) response.destroy(error);
      else req.destroy(error);
    };
    deadline.addEventListener('abort', onDeadline, { once: true });
    req.once('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => req.destroy(new AppError('CONTRACT_FETCH_TIMEOUT', `No connection to ${url.host} within ${policy.connectTimeoutMs} ms`)), policy.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    req.once('response', (res) => {
      response = res;
      res.once('close', () => deadline.removeEventListener('abort', onDeadline));
      resolve(res);
    });
    req.once('error', (error) => {
      deadline.removeEventListener('abort', onDeadline);
      reject(error instanceof AppError ? error : new AppError('CONTRACT_FETCH_FAILED', `The document could not be fetched from ${url.host} (${(error as NodeJS.ErrnoException).code ?? error.name})`));
    });
    req.end();
  });
}

function readBounded(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy(new AppError('PAYLOAD_TOO_LARGE', `The document is larger than ${maxBytes} bytes, the most a contract may be`));
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => resolve(Buffer.concat(chunks)));
    res.once('error', (error) => reject(error instanceof AppError ? error : new AppError('CONTRACT_FETCH_FAILED', 'The connection broke while the document was read')));
    res.once('close', () => {
      if (!res.complete) reject(new AppError('CONTRACT_FETCH_FAILED', 'The connection closed before the whole document was read'));
    });
  });
}
