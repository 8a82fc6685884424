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
 * JWKS. Publish before signing (issue 10 #20): `rotate` adds a key to the JWKS at once but it
 * signs only from `signs_from`, a lead time later, so verifiers holding a cached JWKS have
 * fetched it before they meet a token it signed. The time is stored with the key, so every
 * node switches at the same moment (by its clock) whichever node rotated. The older keys sign
 * until then and stay published until every token they signed has expired.
 */
export const SIGNING_ALG = 'ES256';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: Record<string, unknown>;
  createdAt: number;
  /** when it starts signing; published before that */
  signsFrom: number;
  /** when it stops signing; published until its tokens have expired */
  retiredAt: number | null;
}

function toKey(row: {
  kid: string;
  private_pem: string;
  created_at: number;
  retired_at: number | null;
  signs_from?: number | null;
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
    signsFrom: row.signs_from ?? row.created_at,
    retiredAt: row.retired_at,
  };
}

function generatePem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

async function insertKey(db: Db, pem: string, now: number, signsFrom = now) {
  const key = toKey({
    kid: newId('kid', now),
    private_pem: pem,
    created_at: now,
    retired_at: null,
    signs_from: signsFrom,
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
      signs_from: signsFrom,
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
    /**
     * how long a rotated key is published before it signs (KEY_PUBLISH_LEAD_SECONDS): longer
     * than verifiers keep a JWKS before fetching it again
     */
    private readonly publishLeadMs = 0,
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
        // The first key of a new installation signs at once: no verifier has a JWKS yet.
        await this.rotate(pem, this.keys.length === 0 ? { immediate: true } : {});
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

  /**
   * Adds a new signing key, published at once. It signs from the publish lead time on (at once
   * with `immediate`: a key known to be compromised, accepting that verifiers with a cached JWKS
   * refuse new tokens until they fetch it again); the older keys sign until then, and leave the
   * JWKS after the grace period.
   */
  async rotate(pem = generatePem(), options: { immediate?: boolean } = {}): Promise<SigningKey> {
    const now = this.now();
    const signsFrom = options.immediate ? now : now + this.publishLeadMs;
    const key = await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('signing_keys')
        .set({ retired_at: signsFrom })
        .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', signsFrom)]))
        .execute();
      return insertKey(trx, pem, now, signsFrom);
    });
    await this.reload();
    return key;
  }

  /** The key that signs now: started signing, not retired yet; the latest to start. */
  active(): SigningKey | undefined {
    const now = this.now();
    let best: SigningKey | undefined;
    for (const k of this.keys)
      if (k.signsFrom <= now && (k.retiredAt === null || k.retiredAt > now))
        if (!best || k.signsFrom > best.signsFrom) best = k;
    return best;
  }

  private published(k: SigningKey, now: number) {
    return k.retiredAt === null || k.retiredAt + this.retiredGraceMs >= now;
  }

  byKid(kid: string): SigningKey | undefined {
    const key = this.keys.find((k) => k.kid === kid);
    return key && this.published(key, this.now()) ? key : undefined;
  }

  /**
   * The public key of any key this installation ever had, published or not: for documents kept
   * far longer than a token lives (signed audit heads).
   */
  async everSigned(kid: string): Promise<KeyObject | undefined> {
    if (!this.keys.some((k) => k.kid === kid)) await this.reload();
    return this.keys.find((k) => k.kid === kid)?.publicKey;
  }

  jwks(): { keys: Record<string, unknown>[] } {
    const now = this.now();
    return { keys: this.keys.filter((k) => this.published(k, now)).map((k) => k.publicJwk) };
  }
}
