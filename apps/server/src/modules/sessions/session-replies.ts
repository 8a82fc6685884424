import type { FastifyReply } from 'fastify';
import type { Runtime } from '../../runtime';
import { CSRF_COOKIE, type IssuedSession, SESSION_COOKIE } from './sessions.service';

/**
 * How a new session reaches the client, for every route that opens one (password sign-in,
 * email verification, second factor, OAuth): token mode answers the tokens; cookie mode sets
 * the httpOnly session cookie and a readable CSRF cookie (double submit).
 */
export function sessionReplies(rt: Runtime) {
  const secure =
    rt.config.cookieSecure === 'on' ||
    (rt.config.cookieSecure === 'auto' && rt.config.publicUrl.startsWith('https://'));
  const base = { path: '/', sameSite: 'lax' as const, secure, maxAge: rt.config.sessionTtl };

  function setCookies(reply: FastifyReply, issued: IssuedSession) {
    if (!issued.cookie) return;
    reply.setCookie(SESSION_COOKIE, issued.cookie.value, { ...base, httpOnly: true });
    reply.setCookie(CSRF_COOKIE, issued.cookie.csrfToken, { ...base, httpOnly: false });
  }

  return {
    secure,
    setCookies,

    send(reply: FastifyReply, issued: IssuedSession) {
      if (issued.cookie) {
        setCookies(reply, issued);
        return reply.send({ session_id: issued.session.id, csrf_token: issued.cookie.csrfToken });
      }
      return reply.send({
        token_type: 'Bearer' as const,
        access_token: issued.accessToken,
        expires_in: rt.config.accessTokenTtl,
        refresh_token: issued.refreshToken,
        session_id: issued.session.id,
      });
    },

    clear(reply: FastifyReply) {
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      reply.clearCookie(CSRF_COOKIE, { path: '/' });
    },
  };
}
