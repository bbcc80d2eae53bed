import { randomInt } from 'node:crypto';

// LiveKit ids are a type prefix plus 12 characters of the shortuuid alphabet (livekit/protocol utils/guid).
// Matching the shape keeps code that logs, stores or pattern-matches ids honest.
const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const LENGTH = 12;

export type IdPrefix = 'RM_' | 'PA_' | 'TR_' | 'EG_' | 'ST_' | 'SCL_' | 'EV_';

export function newId(prefix: IdPrefix): string {
  let id = prefix;
  for (let i = 0; i < LENGTH; i += 1) id += ALPHABET.charAt(randomInt(ALPHABET.length));
  return id;
}
