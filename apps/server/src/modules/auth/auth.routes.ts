import {
  AcceptedResponse,
  AccountExistsBody,
  AccountExistsResponse,
  ForgotPasswordBody,
  ForgotPasswordVerifyBody,
  LoginBody,
  LoginResponse,
  PageQuery,
  page,
  RefreshBody,
  RegisterBody,
  ResendOtpBody,
  ResetPasswordBody,
  ResetTokenResponse,
  RevokedCount,
  SessionTokens,
  SessionView,
  SetPasswordBody,
  UpdatePasswordBody,
  VerifyEmailBody,
} from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta, userOf } from '../../http/context';
import type { App } from '../../http/types';
import type { Runtime } from '../../runtime';
import { deviceTokenOf, rememberDevice } from '../../security/login-throttle';
import { sessionReplies } from '../sessions/session-replies';
import type { SessionService } from '../sessions/sessions.service';
import type { AuthService } from './auth.service';

const tags = ['auth'];
const NoContent = { 204: z.null().describe('done') };
const VerifyEmailWithMode = VerifyEmailBody.extend({
  mode: z.enum(['token', 'cookie']).default('token'),
});

export function authRoutes(
  app: App,
  deps: { rt: Runtime; auth: AuthService; sessions: SessionService },
) {
  const { auth, sessions, rt } = deps;
  const replies = sessionReplies(rt);
  const sendSession = replies.send;
  const clearCookies = replies.clear;

  app.post(
    '/v1/auth/register',
    {
      schema: {
        tags,
        summary: 'Register with email and password; a 6-digit code is mailed',
        body: RegisterBody,
        response: { 202: AcceptedResponse },
      },
      config: { auth: 'public' },
    },
    async (req, reply) => reply.code(202).send(await auth.register(req.body, requestMeta(req))),
  );

  app.post(
    '/v1/auth/verify-email',
    {
      schema: {
        tags,
        summary: 'Verify the email with its code; signs the user in',
        body: VerifyEmailWithMode,
        response: { 200: LoginResponse },
      },
      config: { auth: 'public' },
    },
    async (req, reply) =>
      sendSession(reply, await auth.verifyEmail(req.body, requestMeta(req), req.body.mode)),
  );

  app.post(
    '/v1/auth/resend-otp',
    {
      schema: {
        tags,
        summary: 'Send a new code (cooldown per address)',
        body: ResendOtpBody,
        response: { 202: AcceptedResponse },
      },
      config: { auth: 'public' },
    },
    async (req, reply) => reply.code(202).send(await auth.resendCode(req.body, requestMeta(req))),
  );

  app.post(
    '/v1/auth/login',
    {
      schema: {
        tags,
        summary: 'Sign in with email and password',
        body: LoginBody,
        response: { 200: LoginResponse },
      },
      config: { auth: 'public' },
    },
    async (req, reply) => {
      const issued = await auth.login(
        { ...req.body, deviceToken: deviceTokenOf(req) },
        requestMeta(req),
      );
      // This device is now known for this account: its later attempts are not locked out by
      // someone else's guesses (issue 10 #12).
      rememberDevice(reply, rt.secretKey, issued.session.user_id, replies.secure);
      return sendSession(reply, issued);
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      schema: { tags, summary: 'Sign out: revokes the current session', response: NoContent },
    },
    async (req, reply) => {
      await auth.logout(userOf(req), requestMeta(req));
      clearCookies(reply);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/auth/token/refresh',
    {
      schema: {
        tags,
        summary: 'Exchange a refresh token for new tokens (rotates; reuse revokes the session)',
        body: RefreshBody,
        response: { 200: SessionTokens },
      },
      config: { auth: 'public' },
    },
    async (req, reply) => {
      const next = await sessions.refresh(req.body.refresh_token, requestMeta(req));
      return reply.send({
        token_type: 'Bearer' as const,
        access_token: next.accessToken,
        expires_in: rt.config.accessTokenTtl,
        refresh_token: next.refreshToken,
        session_id: next.session.id,
      });
    },
  );

  app.post(
    '/v1/auth/password/forgot',
    {
      schema: {
        tags,
        summary: 'Mail a password reset code (same answer for unknown addresses)',
        body: ForgotPasswordBody,
        response: { 202: AcceptedResponse },
      },
      config: { auth: 'public' },
    },
    async (req, reply) =>
      reply.code(202).send(await auth.forgotPassword(req.body, requestMeta(req))),
  );

  app.post(
    '/v1/auth/password/forgot/verify',
    {
      schema: {
        tags,
        summary: 'Exchange the reset code for a short-lived reset token',
        body: ForgotPasswordVerifyBody,
        response: { 200: ResetTokenResponse },
      },
      config: { auth: 'public' },
    },
    async (req) => auth.verifyPasswordResetCode(req.body, requestMeta(req)),
  );

  app.post(
    '/v1/auth/password/reset',
    {
      schema: {
        tags,
        summary: 'Set a new password with the reset token; signs out every session',
        body: ResetPasswordBody,
        response: NoContent,
      },
      config: { auth: 'public' },
    },
    async (req, reply) => {
      await auth.resetPassword(req.body, requestMeta(req));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/auth/password/set',
    {
      schema: {
        tags,
        summary: 'Set a first password (users who joined by invitation or OAuth)',
        body: SetPasswordBody,
        response: NoContent,
      },
    },
    async (req, reply) => {
      await auth.setPassword(userOf(req), req.body.password, requestMeta(req));
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/v1/auth/password',
    {
      schema: {
        tags,
        summary: 'Change the password (current + new); other sessions are signed out',
        body: UpdatePasswordBody,
        response: NoContent,
      },
    },
    async (req, reply) => {
      await auth.updatePassword(userOf(req), req.body, requestMeta(req));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/auth/account-exists',
    {
      schema: {
        tags,
        summary: 'Whether an account exists for an email (rate-limited; can be disabled)',
        body: AccountExistsBody,
        response: { 200: AccountExistsResponse },
      },
      config: { auth: 'public' },
    },
    async (req) => auth.accountExists(req.body.email, requestMeta(req)),
  );

  app.get(
    '/v1/auth/sessions',
    {
      schema: {
        tags,
        summary: 'List my active sessions',
        querystring: PageQuery,
        response: { 200: page(SessionView) },
      },
    },
    async (req) => {
      const me = userOf(req);
      return sessions.list(me.userId, me.sessionId, req.query.limit, req.query.cursor);
    },
  );

  app.delete(
    '/v1/auth/sessions/:id',
    {
      schema: {
        tags,
        summary: 'Revoke one of my sessions',
        params: z.object({ id: z.string().min(1).max(64) }),
        response: NoContent,
      },
    },
    async (req, reply) => {
      const me = userOf(req);
      await sessions.revoke(me.userId, req.params.id, 'revoked_by_user', requestMeta(req));
      if (req.params.id === me.sessionId) clearCookies(reply);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/v1/auth/sessions',
    {
      schema: {
        tags,
        summary: 'Revoke all my sessions except this one',
        response: { 200: RevokedCount },
      },
    },
    async (req) => {
      const me = userOf(req);
      return { revoked: await sessions.revokeOthers(me.userId, me.sessionId, requestMeta(req)) };
    },
  );
}
