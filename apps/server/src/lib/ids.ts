import { randomBytes } from 'node:crypto';

/**
 * Ids are `<prefix>_<26 chars>`: 48 bits of milliseconds then 80 random bits, in Crockford
 * base32, lower case. Time-ordered, so "newest first" and cursor pagination sort by id alone.
 */
export type IdPrefix =
  | 'usr'
  | 'mfa'
  | 'rec'
  | 'psi'
  | 'idn'
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

let lastTime = -1;
let lastRandom = 0n;
const RANDOM_SPACE = 1n << 80n;

/**
 * Monotonic within a process: two ids made in the same millisecond (or with a clock that stood
 * still, as tests' does) still sort in the order they were made — the second one's random part
 * is the first one's plus one.
 */
export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = Math.max(now, lastTime);
  let random: bigint;
  if (time === lastTime) {
    random = lastRandom + 1n;
    if (random >= RANDOM_SPACE) {
      time += 1;
      random = BigInt(`0x${randomBytes(10).toString('hex')}`) >> 1n;
    }
  } else {
    // Half the space, so increments within one millisecond never overflow in practice.
    random = BigInt(`0x${randomBytes(10).toString('hex')}`) >> 1n;
  }
  lastTime = time;
  lastRandom = random;
  let timePart = '';
  let t = time;
  for (let i = 0; i < 10; i++) {
    timePart = ALPHABET[t % 32] + timePart;
    t = Math.floor(t / 32);
  }
  let randomPart = '';
  let r = random;
  for (let i = 0; i < 16; i++) {
    randomPart = ALPHABET[Number(r & 31n)] + randomPart;
    r >>= 5n;
  }
  return `${prefix}_${timePart}${randomPart}`;
}

export const idPrefix = (id: string) => id.slice(0, id.indexOf('_'));
