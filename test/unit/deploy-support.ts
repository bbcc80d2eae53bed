// What the deployment tests share: the config schema's variables, and an environment made from a
// manifest, with stand-ins for the values an operator supplies, that loadConfig() can judge.
import { readFileSync } from 'node:fs';
import { envSchema } from '../../server/config.js';

export const repoFile = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** Every variable server/config.ts reads. */
export const configVariables = new Set(Object.keys(envSchema.shape));

/** Names whose values are credentials: a manifest must take them from a secret, never spell them out. */
export function isSecretVariable(name: string): boolean {
  return /(SECRET|PASSWORD|PASSPHRASE|TOKEN)/.test(name) || /_KEY_ID$/.test(name) || name === 'LIVEKIT_API_KEY';
}

/** The user:password part of a URL, if it has one. */
export const urlCredentials = (value: string): string | undefined => /^[a-z]+:\/\/([^:/@]+:.*)@[^@]*$/.exec(value)?.[1];

/**
 * A value of the right shape for a variable whose value the operator supplies (from a secret, or an
 * env file), so that loadConfig() can check everything else. None is a development default, which
 * production refuses.
 */
export function standIn(name: string): string {
  if (name === 'MIGRATION_DATABASE_URL') return 'postgresql://facesign_owner:owner-password-0123456789@db.internal:5432/facesign';
  if (name === 'DATABASE_URL') return 'postgresql://facesign_api:api-password-0123456789@db.internal:5432/facesign';
  if (name === 'REDIS_URL') return 'redis://redis.internal:6379';
  if (name === 'PUBLIC_URL') return 'https://verify.bank.test';
  if (name === 'LIVEKIT_PUBLIC_URL') return 'wss://livekit.bank.test';
  if (name.endsWith('_URL')) return 'https://service.bank.test/endpoint';
  return `stand-in-${name.toLowerCase()}-0123456789abcdef`;
}

/** Replaces compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` as `docker compose` would. */
export function interpolate(value: string, supplied: (name: string) => string | undefined): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}/g, (_match, name: string, kind: string | undefined, rest: string | undefined) => {
    const given = supplied(name);
    if (given !== undefined && given !== '') return given;
    if (kind === '-') return rest ?? '';
    if (kind === '?') throw new Error(`${name} is required: ${rest ?? ''}`);
    return '';
  });
}
