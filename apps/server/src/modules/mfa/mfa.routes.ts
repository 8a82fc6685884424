import {
  CodeSent,
  ConfirmCodeBody,
  FactorConfirmed,
  LoginResponse,
  MfaStatus,
  MfaTokenBody,
  MfaVerifyBody,
  RecoveryCodes,
  SmsEnrolBody,
  SmsEnrolment,
  StepUpBody,
  StepUpResponse,
  TotpEnrolment,
} from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta, userOf } from '../../http/context';
import type { App } from '../../http/types';
import type { Runtime } from '../../runtime';
import { rememberDevice } from '../../security/login-throttle';
import { sessionReplies } from '../sessions/session-replies';
import type { MfaService } from './mfa.service';

const NoContent = { 204: z.null().describe('done') };

/** Second factors of the signed-in user (/v1/me/mfa), the sign-in challenge and step-up. */
export function mfaRoutes(app: App, { rt, mfa }: { rt: Runtime; mfa: MfaService }) {
  const replies = sessionReplies(rt);
  const tags = ['mfa'];

  app.get(
    '/v1/me/mfa',
    {
      schema: {
        tags,
        summary: 'My second factors and recovery codes left',
        response: { 200: MfaStatus },
      },
    },
    async (req) => mfa.status(userOf(req).userId),
  );

  app.post(
    '/v1/me/mfa/totp',
    {
      schema: {
        tags,
        summary:
          'Start enrolling an authenticator app: secret, otpauth URI and QR code (needs a recent sign-in)',
        response: { 201: TotpEnrolment },
      },
    },
    async (req, reply) => reply.code(201).send(await mfa.enrolTotp(userOf(req), requestMeta(req))),
  );

  app.post(
    '/v1/me/mfa/totp/confirm',
    {
      schema: {
        tags,
        summary: 'Confirm the authenticator with its first code (first factor: recovery codes)',
        body: ConfirmCodeBody,
        response: { 200: FactorConfirmed },
      },
    },
    async (req) => mfa.confirmTotp(userOf(req), req.body.code, requestMeta(req)),
  );

  app.post(
    '/v1/me/mfa/sms',
    {
      schema: {
        tags,
        summary:
          'Start enrolling a phone number: a code is sent to it by SMS (needs a recent sign-in)',
        body: SmsEnrolBody,
        response: { 202: SmsEnrolment },
      },
    },
    async (req, reply) =>
      reply.code(202).send(await mfa.enrolSms(userOf(req), req.body.phone, requestMeta(req))),
  );

  app.post(
    '/v1/me/mfa/sms/confirm',
    {
      schema: {
        tags,
        summary: 'Confirm the phone number with the code it received',
        body: ConfirmCodeBody,
        response: { 200: FactorConfirmed },
      },
    },
    async (req) => mfa.confirmSms(userOf(req), req.body.code, requestMeta(req)),
  );

  app.delete(
    '/v1/me/mfa/factors/:factorId',
    {
      schema: {
        tags,
        summary: 'Remove a factor (needs a recent sign-in or a fresh factor)',
        params: z.object({ factorId: z.string().min(1).max(64) }),
        response: NoContent,
      },
    },
    async (req, reply) => {
      await mfa.removeFactor(userOf(req), req.params.factorId, requestMeta(req));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/me/mfa/recovery-codes',
    {
      schema: {
        tags,
        summary: 'Replace my recovery codes (needs a recent sign-in or a fresh factor)',
        response: { 200: RecoveryCodes },
      },
    },
    async (req) => mfa.regenerateRecoveryCodes(userOf(req), requestMeta(req)),
  );

  app.post(
    '/v1/auth/mfa/verify',
    {
      schema: {
        tags: ['auth'],
        summary: 'Finish a sign-in with a second factor (the mfa_token from mfa_required)',
        body: MfaVerifyBody,
        response: { 200: LoginResponse },
      },
      config: { auth: 'public' },
    },
    async (req, reply) => {
      const issued = await mfa.verifyChallenge(req.body, requestMeta(req));
      // A completed sign-in: this device is known for this account (issue 10 #12).
      rememberDevice(reply, rt.secretKey, issued.session.user_id, replies.secure);
      return replies.send(reply, issued);
    },
  );

  app.post(
    '/v1/auth/mfa/sms',
    {
      schema: {
        tags: ['auth'],
        summary: 'Send the sign-in code of a challenge by SMS',
        body: MfaTokenBody,
        response: { 202: CodeSent },
      },
      config: { auth: 'public' },
    },
    async (req, reply) =>
      reply.code(202).send(await mfa.sendChallengeSms(req.body.mfa_token, requestMeta(req))),
  );

  app.post(
    '/v1/auth/step-up',
    {
      schema: {
        tags: ['auth'],
        summary: 'Prove it is still you (password, or a second factor if you have one)',
        body: StepUpBody,
        response: { 200: StepUpResponse },
      },
    },
    async (req) => mfa.stepUp(userOf(req), req.body, requestMeta(req)),
  );

  app.post(
    '/v1/auth/step-up/sms',
    {
      schema: {
        tags: ['auth'],
        summary: 'Send a step-up code by SMS to my confirmed number',
        response: { 202: CodeSent },
      },
    },
    async (req, reply) =>
      reply.code(202).send(await mfa.sendStepUpSms(userOf(req), requestMeta(req))),
  );
}
