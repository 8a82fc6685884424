import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config';

/**
 * The per-provider LINK_BY_EMAIL variables (issue 10 #11): whether a provider's verified email
 * may join an existing account on its own. On by default for Google and GitHub, off for
 * generic OpenID Connect providers; validated like every other variable.
 */

const PROVIDERS = {
  GOOGLE_CLIENT_ID: 'g-id',
  GOOGLE_CLIENT_SECRET: 'g-secret',
  GITHUB_CLIENT_ID: 'gh-id',
  GITHUB_CLIENT_SECRET: 'gh-secret',
  OIDC_PROVIDERS: 'corp,okta-eu',
  OIDC_CORP_ISSUER: 'https://sso.example.com',
  OIDC_CORP_CLIENT_ID: 'c-id',
  OIDC_CORP_CLIENT_SECRET: 'c-secret',
  OIDC_OKTA_EU_ISSUER: 'https://example.okta.com',
  OIDC_OKTA_EU_CLIENT_ID: 'o-id',
  OIDC_OKTA_EU_CLIENT_SECRET: 'o-secret',
};

const linkByEmail = (env: Record<string, string>) =>
  Object.fromEntries(loadConfig(env).oauthProviders.map((p) => [p.id, p.linkByEmail]));

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('LINK_BY_EMAIL', () => {
  // @see issue 10 #11
  it('is on for Google and GitHub and off for generic providers unless told', () => {
    expect(linkByEmail(PROVIDERS)).toEqual({
      google: true,
      github: true,
      'oidc:corp': false,
      'oidc:okta-eu': false,
    });
  });

  // @see issue 10 #11
  it('is read per provider', () => {
    expect(
      linkByEmail({
        ...PROVIDERS,
        GOOGLE_LINK_BY_EMAIL: 'off',
        GITHUB_LINK_BY_EMAIL: '0',
        OIDC_CORP_LINK_BY_EMAIL: 'on',
        OIDC_OKTA_EU_LINK_BY_EMAIL: 'false',
      }),
    ).toEqual({ google: false, github: false, 'oidc:corp': true, 'oidc:okta-eu': false });
    // empty counts as unset, as for every variable
    expect(linkByEmail({ ...PROVIDERS, OIDC_CORP_LINK_BY_EMAIL: '' })['oidc:corp']).toBe(false);
  });

  // @see issue 10 #11
  it('refuses anything but on or off, naming the variable', () => {
    expect(problemsOf({ ...PROVIDERS, GOOGLE_LINK_BY_EMAIL: 'maybe' })).toEqual([
      'invalid GOOGLE_LINK_BY_EMAIL: must be on or off',
    ]);
    expect(problemsOf({ ...PROVIDERS, GITHUB_LINK_BY_EMAIL: 'yes' })).toEqual([
      'invalid GITHUB_LINK_BY_EMAIL: must be on or off',
    ]);
    expect(problemsOf({ ...PROVIDERS, OIDC_OKTA_EU_LINK_BY_EMAIL: 'always' })).toEqual([
      'invalid OIDC_OKTA_EU_LINK_BY_EMAIL: must be on or off',
    ]);
  });
});
