import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

/** RFC 6238 defaults every authenticator app understands: SHA-1, 6 digits, 30-second steps. */
const PERIOD_SECONDS = 30;

export const newTotpSecret = () => generateSecret({ length: 20 });

/**
 * The issuer an authenticator app shows for our entries: PUBLIC_URL's host name, without its
 * port. Google's Key Uri Format makes the label `issuer:account` and forbids a colon in either
 * part (issue 10 #23: `localhost:3000` made the app read `localhost` as the issuer and
 * `3000:user@…` as the account); an IPv6 literal loses its colons and brackets too.
 */
export function totpIssuer(publicUrl: string): string {
  const host = new URL(publicUrl).hostname.replace(/^\[|\]$/g, '');
  return host.replace(/:+/g, '-') || 'Gatehouse';
}

export const totpUri = (issuer: string, account: string, secret: string) =>
  generateURI({
    issuer: issuer.replace(/:/g, ''),
    label: account.replace(/:/g, ''),
    secret,
    period: PERIOD_SECONDS,
    digits: 6,
  });

export const qrCodeDataUrl = (text: string) =>
  QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 2, width: 240 });

/**
 * Checks a code against the secret at `nowMs`, accepting the step before and after (clock
 * drift). Returns the matched time step, which the caller must record and refuse to accept
 * again (replay), or null.
 */
export async function matchTotp(secret: string, code: string, nowMs: number) {
  if (!/^\d{6}$/.test(code)) return null;
  const epoch = Math.floor(nowMs / 1000);
  const result = await verify({
    secret,
    token: code,
    epoch,
    period: PERIOD_SECONDS,
    epochTolerance: PERIOD_SECONDS,
  });
  // The matched step: the current one moved by the drift the library found.
  return result.valid ? Math.floor(epoch / PERIOD_SECONDS) + result.delta : null;
}

/** The code for a moment; for tests and the seed, never for the server's own decisions. */
export { generate as generateTotp } from 'otplib';
