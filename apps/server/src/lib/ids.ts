import { randomBytes } from 'node:crypto';

/**
 * Ids are `<prefix>_<26 chars>`: 48 bits of milliseconds then 80 random bits, in Crockford
 * base32, lower case. Time-ordered, so "newest first" and cursor pagination sort by id alone.
 */
export type IdPrefix =
  | 'usr'
  | 'org'
  | 'acc'
  | 'res'
  | 'inv'
  | 'key'
  | 'ses'
  | 'otp'
  | 'msg'
  | 'evt'
  | 'rol'
  | 'kid'
  | 'avt'
  | 'mem'
  | 'tok';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rand = '';
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ALPHABET[(acc >> bits) & 31];
    }
  }
  return `${prefix}_${time}${rand}`;
}

export const idPrefix = (id: string) => id.slice(0, id.indexOf('_'));
