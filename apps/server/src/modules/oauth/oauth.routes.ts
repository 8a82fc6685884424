import {
  IdentityView,
  LinkConfirmBody,
  LinkStart,
  LinkStartBody,
  LoginResponse,
  OAuthCallbackQuery,
  OAuthExchangeBody,
  OAuthLinkConfirmBody,
  OAuthProviderView,
  OAuthStartQuery,
  page,
} from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta, userOf } from '../../http/context';
import type { App } from '../../http/types';
import type { Runtime } from '../../runtime';
import { sessionReplies } from '../sessions/session-replies';
import type { OAuthService } from './oauth.service';

const Redirect = { 302: z.null().describe('a redirect (Location header)') };
const ProviderParams = z.object({ provider: z.string().min(1).max(60) });

/** Sign-in with Google, GitHub and OpenID Connect providers, and the user's linked identities. */
export function oauthRoutes(app: App, { rt, oauth }: { rt: Runtime; oauth: OAuthService }) {
  const replies = sessionReplies(rt);
  const tags = ['oauth'];
  /** Binds a started sign-in to this browser; sent back only to the OAuth routes, for 10 minutes. */
  const bindingCookieOptions = {
    path: '/v1/auth/oauth/',
    httpOnly: true,
    // Lax: the provider's redirect back is a top-level GET navigation, which carries it.
    sameSite: 'lax' as const,
    secure: replies.secure,
    maxAge: 10 * 60,
  };

  app.get(
    '/v1/auth/oauth/providers',
    {
      schema: {
        tags,
        summary: 'The sign-in providers this platform offers',
        response: { 200: z.object({ data: z.array(OAuthProviderView) }) },
      },
      config: { auth: 'public' },
    },
    async () => ({ data: oauth.list() }),
  );

  app.get(
    '/v1/auth/oauth/:provider/start',
    {
      schema: {
        tags,
        summary: 'Start signing in with a provider: redirects the browser to it',
        params: ProviderParams,
        querystring: OAuthStartQuery,
        response: Redirect,
      },
      config: { auth: 'public' },
    },
    async (req, reply) => {
      const { url, state } = await oauth.start(req.params.provider, req.query, requestMeta(req));
      reply.setCookie(oauth.bindingCookie(state), state, bindingCookieOptions);
      return reply.redirect(url, 302);
    },
  );

  app.get(
    '/v1/auth/oauth/:provider/callback',
    {
      schema: {
        tags,
        summary:
          'Where the provider sends the browser back; redirects to the return address (results in the fragment)',
        params: ProviderParams,
        querystring: OAuthCallbackQuery,
        response: Redirect,
      },
      config: { auth: 'public' },
    },
    async (req, reply) => {
      const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
      const bindingName = req.query.state ? oauth.bindingCookie(req.query.state) : undefined;
      const outcome = await oauth.callback(
        req.params.provider,
        req.query,
        rawQuery,
        bindingName ? req.cookies[bindingName] : undefined,
        requestMeta(req),
      );
      if (bindingName) reply.clearCookie(bindingName, { path: bindingCookieOptions.path });
      if (outcome.kind === 'session') replies.setCookies(reply, outcome.issued);
      return reply.redirect(outcome.redirect, 302);
    },
  );

  app.post(
    '/v1/auth/oauth/exchange',
    {
      schema: {
        tags,
        summary: 'Token mode: exchange the login_token from the return address for tokens',
        body: OAuthExchangeBody,
        response: { 200: LoginResponse },
      },
      config: { auth: 'public' },
    },
    async (req, reply) =>
      replies.send(reply, await oauth.exchange(req.body.login_token, requestMeta(req))),
  );

  app.post(
    '/v1/auth/oauth/link/confirm',
    {
      schema: {
        tags,
        summary:
          'Finish a provider sign-in that joins an existing account: prove that account (password or emailed code) with the link_pending_token from the return address',
        body: OAuthLinkConfirmBody,
        response: { 200: LoginResponse },
      },
      config: { auth: 'public' },
    },
    async (req, reply) =>
      replies.send(reply, await oauth.confirmPendingLink(req.body, requestMeta(req))),
  );

  app.get(
    '/v1/me/identities',
    {
      schema: {
        tags,
        summary: 'The provider identities that can sign me in',
        response: { 200: page(IdentityView) },
      },
    },
    async (req) => oauth.listIdentities(userOf(req).userId),
  );

  app.post(
    '/v1/me/identities',
    {
      schema: {
        tags,
        summary: 'Link a provider to my account: answers the URL to send the browser to',
        body: LinkStartBody,
        response: { 200: LinkStart },
      },
      config: { stepUp: true },
    },
    async (req) =>
      oauth.startLink(userOf(req), req.body.provider, req.body.return_to, requestMeta(req)),
  );

  app.post(
    '/v1/me/identities/confirm',
    {
      schema: {
        tags,
        summary:
          'Finish linking: redeem the link_token from the return address (only the user who started it)',
        body: LinkConfirmBody,
        response: { 201: IdentityView },
      },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(await oauth.confirmLink(userOf(req), req.body.link_token, requestMeta(req))),
  );

  app.delete(
    '/v1/me/identities/:identityId',
    {
      schema: {
        tags,
        summary: 'Unlink a provider (not the last way to sign in)',
        params: z.object({ identityId: z.string().min(1).max(64) }),
        response: { 204: z.null().describe('done') },
      },
    },
    async (req, reply) => {
      await oauth.unlink(userOf(req), req.params.identityId, requestMeta(req));
      return reply.code(204).send(null);
    },
  );
}
