import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import type { Db } from '../db/database';
import { newId } from '../lib/ids';

/**
 * The asymmetric keys that sign access tokens. ES256 (P-256) because every JWT library of every
 * language the platform's services might be written in verifies it.
 *
 * Keys live in the database so that every node signs with the same key and publishes the same
 * JWKS. The newest unretired key signs; `rotate` adds a key and retires the older ones, which
 * stay published until every token they signed has expired.
 */
export const SIGNING_ALG = 'ES256';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: Record<string, unknown>;
  createdAt: number;
  retiredAt: number | null;
}

function toKey(row: {
  kid: string;
  private_pem: string;
  created_at: number;
  retired_at: number | null;
}): SigningKey {
  const privateKey = createPrivateKey(row.private_pem);
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return {
    kid: row.kid,
    privateKey,
    publicKey,
    publicJwk: { ...jwk, kid: row.kid, alg: SIGNING_ALG, use: 'sig' },
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  };
}

function generatePem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

async function insertKey(db: Db, pem: string, now: number) {
  const key = toKey({
    kid: newId('kid', now),
    private_pem: pem,
    created_at: now,
    retired_at: null,
  });
  await db
    .insertInto('signing_keys')
    .values({
      kid: key.kid,
      alg: SIGNING_ALG,
      public_jwk: JSON.stringify(key.publicJwk),
      private_pem: pem,
      created_at: now,
      retired_at: null,
    })
    .execute();
  return key;
}

export class SigningKeyStore {
  private keys: SigningKey[] = [];

  constructor(
    private readonly db: Db,
    private readonly now: () => number,
    /** how long a retired key stays published: the access token lifetime plus clock skew */
    private readonly retiredGraceMs: number,
  ) {}

  /** Loads the keys; on first start creates one (from SIGNING_KEY when configured). */
  async init(configuredPem?: string) {
    await this.reload();
    if (configuredPem) {
      const pem = createPrivateKey(configuredPem)
        .export({ format: 'pem', type: 'pkcs8' })
        .toString();
      if (
        !this.keys.some(
          (k) => k.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() === pem,
        )
      ) {
        await this.rotate(pem);
      }
    } else if (!this.active()) {
      await insertKey(this.db, generatePem(), this.now());
      await this.reload();
    }
  }

  /**
   * Re-reads the keys when the copy in memory is older than `maxAgeMs` (by the app's clock), so
   * a rotation made on another node or by the CLI is signed with here too. Called before
   * signing (sign-in and refresh, not the per-request hot path).
   */
  async fresh(maxAgeMs = 30_000): Promise<void> {
    if (this.now() - this.loadedAt > maxAgeMs) await this.reload();
  }

  private loadedAt = Number.NEGATIVE_INFINITY;

  async reload() {
    this.loadedAt = this.now();
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .orderBy('created_at', 'desc')
      .execute();
    this.keys = rows.map(toKey);
  }

  /** Adds a new signing key; older keys stop signing and leave the JWKS after the grace period. */
  async rotate(pem = generatePem()): Promise<SigningKey> {
    const now = this.now();
    const key = await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('signing_keys')
        .set({ retired_at: now })
        .where('retired_at', 'is', null)
        .execute();
      return insertKey(trx, pem, now);
    });
    await this.reload();
    return key;
  }

  active(): SigningKey | undefined {
    return this.keys.find((k) => k.retiredAt === null);
  }

  byKid(kid: string): SigningKey | undefined {
    const key = this.keys.find((k) => k.kid === kid);
    if (!key) return undefined;
    if (key.retiredAt !== null && key.retiredAt + this.retiredGraceMs < this.now())
      return undefined;
    return key;
  }

  jwks(): { keys: Record<string, unknown>[] } {
    const now = this.now();
    return {
      keys: this.keys
        .filter((k) => k.retiredAt === null || k.retiredAt + this.retiredGraceMs >= now)
        .map((k) => k.publicJwk),
    };
  }
}
