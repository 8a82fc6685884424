import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { SIGNING_ALG, type SigningKeyStore } from './signing-keys';

/**
 * What an access token says. Standard claims plus the session and current organization. Every
 * token names its audience (`aud`, ACCESS_TOKEN_AUDIENCE): a verifier that checks it cannot be
 * handed a token minted for another audience by the same issuer (issue 10 #23).
 */
export interface AccessClaims {
  sub: string;
  sid: string;
  org: string | null;
  amr: string[];
  iat: number;
  exp: number;
}

/**
 * Signs and verifies access tokens. Verification is on every request, so a verified token is
 * remembered (by its full text) until it expires: a repeated request costs one map lookup, not
 * an ECDSA verify. Revocation is not the token's business — the session check after it is.
 */
export class AccessTokens {
  private readonly verified = new Map<string, AccessClaims>();

  constructor(
    private readonly keys: SigningKeyStore,
    private readonly issuer: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number,
    private readonly audience = 'gatehouse',
    private readonly maxCached = 50_000,
  ) {}

  async sign(claims: Pick<AccessClaims, 'sub' | 'sid' | 'org' | 'amr'>): Promise<string> {
    await this.keys.fresh();
    const key = this.keys.active();
    if (!key) throw new Error('no active signing key');
    const iat = Math.floor(this.now() / 1000);
    return new SignJWT({ sid: claims.sid, org: claims.org, amr: claims.amr })
      .setProtectedHeader({ alg: SIGNING_ALG, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(claims.sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .sign(key.privateKey);
  }

  /** Returns the claims of a valid token, or null for anything else (never throws). */
  async verify(token: string): Promise<AccessClaims | null> {
    const nowSeconds = this.now() / 1000;
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.exp > nowSeconds) return cached;
      this.verified.delete(token);
      return null;
    }
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          let key = header.kid ? this.keys.byKid(header.kid) : undefined;
          if (!key && header.kid) {
            // Another node may have rotated keys since we loaded them.
            await this.keys.reload();
            key = this.keys.byKid(header.kid);
          }
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          return key.publicKey;
        },
        {
          issuer: this.issuer,
          audience: this.audience,
          algorithms: [SIGNING_ALG],
          typ: 'at+jwt',
          currentDate: new Date(this.now()),
        },
      );
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') return null;
      const claims: AccessClaims = {
        sub: payload.sub,
        sid: payload.sid,
        org: typeof payload.org === 'string' ? payload.org : null,
        amr: Array.isArray(payload.amr) ? payload.amr.map(String) : [],
        iat: payload.iat ?? 0,
        exp: payload.exp ?? 0,
      };
      if (this.verified.size >= this.maxCached) this.verified.clear();
      this.verified.set(token, claims);
      return claims;
    } catch {
      return null;
    }
  }
}
