import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../../http/errors';
import type { Runtime } from '../../runtime';
import { SIGNING_ALG } from '../../tokens/signing-keys';

/**
 * Signed heads of an audit chain (issue 10 #19). Deleting a chain's newest events leaves a
 * shorter chain that still verifies: nothing inside the database can tell. So the operator
 * fetches the head now and then and keeps it outside the database (a log shipper, a ticket, a
 * notary); `verify?anchor=` later answers whether the chain still holds that event with that
 * hash. The head is a JWS signed with the token signing key (verifiable with the JWKS), so a
 * kept head cannot be confused with one typed in later.
 */
export interface AuditHead {
  /** the chain: an organization's id, or `platform` */
  organization: string;
  /** seq of the newest event (0 for an empty chain) */
  sequence: number;
  hash: string | null;
  /** when the head was taken */
  at: string;
}

const TYP = 'gatehouse-audit-head+jwt';

export async function signHead(rt: Runtime, head: AuditHead): Promise<string> {
  await rt.keys.fresh();
  const key = rt.keys.active();
  if (!key) throw new Error('no active signing key');
  return new SignJWT({ ...head })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: key.kid, typ: TYP })
    .setIssuer(rt.config.publicUrl)
    .setIssuedAt(Math.floor(rt.clock.now() / 1000))
    .sign(key.privateKey);
}

const invalid = (message: string) =>
  new AppError('validation_failed', message, {
    errors: [{ path: 'query.anchor', message }],
  });

/** The head in a kept checkpoint, once its signature is checked and it names `chain`. */
export async function verifyHead(rt: Runtime, chain: string, jws: string): Promise<AuditHead> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(
      jws,
      async (header) => {
        // Any key this server ever signed with: a head is kept far longer than a token lives.
        const key = header.kid ? await rt.keys.everSigned(header.kid) : undefined;
        if (!key) throw new joseErrors.JWKSNoMatchingKey();
        return key;
      },
      { algorithms: [SIGNING_ALG], typ: TYP, issuer: rt.config.publicUrl },
    ));
  } catch {
    throw invalid('not an audit head signed by this server');
  }
  const { organization, sequence, hash, at } = payload;
  if (
    typeof organization !== 'string' ||
    typeof sequence !== 'number' ||
    !Number.isSafeInteger(sequence) ||
    (hash !== null && typeof hash !== 'string') ||
    typeof at !== 'string'
  )
    throw invalid('not an audit head signed by this server');
  if (organization !== chain) throw invalid(`this head is of the chain ${organization}`);
  return { organization, sequence, hash, at };
}
