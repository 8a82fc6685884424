import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../http/errors';
import { checkReturnTo } from './oauth.service';

/**
 * Where a provider sign-in may send the browser back: a path on this site, PUBLIC_URL's origin,
 * or an entry of OAUTH_RETURN_URLS (an origin, or an origin and path prefix). Anything else is
 * an open redirect that would hand a login_token to a stranger.
 */

const PUBLIC = 'https://gatehouse.example.com';
const ALLOWED = ['https://app.example.com', 'https://example.org/portal'];
const check = (returnTo: string | undefined) => checkReturnTo(returnTo, PUBLIC, ALLOWED);

function refused(returnTo: string): boolean {
  try {
    check(returnTo);
    return false;
  } catch (error) {
    if (error instanceof AppError && error.code === 'redirect_not_allowed') return true;
    throw error;
  }
}

/** Whether a URL the check answered is one the allow-list names. */
function onTheList(href: string): boolean {
  const url = new URL(href);
  if (url.username || url.password) return false;
  if (url.origin === PUBLIC || url.origin === 'https://app.example.com') return true;
  return (
    url.origin === 'https://example.org' &&
    (url.pathname === '/portal' || url.pathname.startsWith('/portal/'))
  );
}

describe('accepted return addresses', () => {
  it('defaults to the home page', () => {
    expect(check(undefined)).toBe(`${PUBLIC}/`);
    expect(check('')).toBe(`${PUBLIC}/`);
  });

  it('takes a path on this site as an absolute URL', () => {
    expect(check('/settings?tab=security#top')).toBe(`${PUBLIC}/settings?tab=security#top`);
  });

  it('takes PUBLIC_URL’s origin and an allowed origin with any path', () => {
    expect(check(`${PUBLIC}/a/b`)).toBe(`${PUBLIC}/a/b`);
    expect(check('https://app.example.com/signed-in?x=1')).toBe(
      'https://app.example.com/signed-in?x=1',
    );
  });

  it('takes an allowed prefix and what is under it', () => {
    expect(check('https://example.org/portal')).toBe('https://example.org/portal');
    expect(check('https://example.org/portal/done')).toBe('https://example.org/portal/done');
  });

  it('compares origins after parsing: case and the default port do not matter', () => {
    expect(check('HTTPS://APP.EXAMPLE.COM:443/x')).toBe('https://app.example.com/x');
  });
});

describe('refused return addresses', () => {
  it.each([
    ['another site', 'https://evil.com/'],
    ['a protocol-relative URL', '//evil.com'],
    ['a protocol-relative URL with a path', '//evil.com/app.example.com'],
    ['an allowed host as a prefix of another', 'https://app.example.com.evil.com/'],
    ['an allowed host as a suffix of another', 'https://evilapp.example.com/'],
    ['userinfo before an allowed host', 'https://user@app.example.com/'],
    ['userinfo that looks like the host', 'https://app.example.com@evil.com/'],
    ['a password in the URL', 'https://user:pw@app.example.com/'],
    ['a backslash path', '/\\evil.com'],
    ['backslashes for slashes', '\\\\evil.com'],
    ['a backslash after the scheme', 'https:\\\\evil.com'],
    ['a javascript: URL', 'javascript:alert(document.cookie)'],
    ['a javascript: URL in capitals', 'JaVaScRiPt:alert(1)'],
    ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
    ['a tab inside the slashes', '/\t/evil.com'],
    ['a newline inside the slashes', '/\n/evil.com'],
    ['plain http to an https origin', 'http://app.example.com/'],
    ['another port', 'https://app.example.com:8443/'],
    ['a path beside an allowed prefix', 'https://example.org/portalx'],
    ['another path on a prefixed origin', 'https://example.org/'],
    ['a relative path without a slash', 'evil.com'],
    ['dot segments out of an allowed prefix', 'https://example.org/portal/../admin'],
    ['encoded dot segments out of an allowed prefix', 'https://example.org/portal/%2e%2e/admin'],
  ])('refuses %s (%s)', (_what, returnTo) => {
    expect(refused(returnTo)).toBe(true);
  });
});

describe('properties', () => {
  it('answers only addresses on the allow-list, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (input) => {
        try {
          return onTheList(check(input));
        } catch (error) {
          return error instanceof AppError && error.code === 'redirect_not_allowed';
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses every web URL whose origin is not allowed', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => {
        fc.pre(!onTheList(url));
        return refused(url);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses an allowed host dressed up as userinfo, subdomain or suffix of another', () => {
    const tricks = fc.constantFrom(
      (h: string) => `https://${h}@evil.com/`,
      (h: string) => `https://evil.com@${h}/`,
      (h: string) => `https://${h}.evil.com/`,
      (h: string) => `https://evil-${h}/`,
      (h: string) => `//${h}.evil.com`,
      (h: string) => `https://${h}%2F@evil.com/`,
      (h: string) => `https://evil.com\\@${h}/`,
      (h: string) => `https://evil.com#@${h}/`,
    );
    const hosts = fc.constantFrom('app.example.com', 'gatehouse.example.com', 'example.org');
    fc.assert(
      fc.property(tricks, hosts, (trick, host) => {
        const input = trick(host);
        try {
          return onTheList(check(input));
        } catch (error) {
          return error instanceof AppError && error.code === 'redirect_not_allowed';
        }
      }),
    );
  });

  it('accepts every plain path on this site, and keeps it on this site', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._~-]{0,12}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (segments) => {
        const path = `/${segments.join('/')}`;
        fc.pre(!path.startsWith('//'));
        return new URL(check(path)).origin === PUBLIC;
      }),
    );
  });
});
