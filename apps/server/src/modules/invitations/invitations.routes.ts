import {
  AcceptInvitationBody,
  AcceptInvitationResult,
  Invitation,
  InvitationPreview,
  InvitationsQuery,
  MyInvitation,
  page,
  SendInvitationsBody,
  SendInvitationsResult,
} from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta, userOf } from '../../http/context';
import type { App } from '../../http/types';
import type { InvitationService } from './invitations.service';

const tags = ['invitations'];
/** Path segments never hold NUL: PostgreSQL would refuse the lookup (a 500) instead of a 404. */
const Segment = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const OrgParams = z.object({ orgId: Segment(1, 64) });
const InvitationParams = OrgParams.extend({ invitationId: Segment(1, 64) });
const TokenParams = z.object({ token: Segment(16, 128) });

export function invitationRoutes(app: App, { invitations }: { invitations: InvitationService }) {
  app.post(
    '/v1/organizations/:orgId/invitations',
    {
      schema: {
        tags,
        summary: 'Invite up to 100 addresses with grants; a result per address',
        params: OrgParams,
        body: SendInvitationsBody,
        response: { 200: SendInvitationsResult },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) => invitations.send(userOf(req), req.params.orgId, req.body, requestMeta(req)),
  );

  app.get(
    '/v1/organizations/:orgId/invitations',
    {
      schema: {
        tags,
        summary: 'Sent invitations, newest first, by status',
        params: OrgParams,
        querystring: InvitationsQuery,
        response: { 200: page(Invitation) },
      },
      // Any member: the service shows all invitations to those with members:read, and their
      // own to those who may invite somewhere (accounts admins, reseller account owners).
      config: { access: { permission: 'member' } },
    },
    async (req) => invitations.list(userOf(req), req.params.orgId, req.query),
  );

  app.get(
    '/v1/organizations/:orgId/invitations/:invitationId',
    {
      schema: {
        tags,
        summary: 'One sent invitation',
        params: InvitationParams,
        response: { 200: Invitation },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) => invitations.get(userOf(req), req.params.orgId, req.params.invitationId),
  );

  app.delete(
    '/v1/organizations/:orgId/invitations/:invitationId',
    {
      schema: {
        tags,
        summary: 'Revoke a pending invitation: its link stops working',
        params: InvitationParams,
        response: { 200: Invitation },
      },
      // Whoever could send this invitation today (checked by the service against its grants).
      config: { access: { permission: 'member' } },
    },
    async (req) =>
      invitations.revoke(userOf(req), req.params.orgId, req.params.invitationId, requestMeta(req)),
  );

  app.post(
    '/v1/organizations/:orgId/invitations/:invitationId/resend',
    {
      schema: {
        tags,
        summary: 'Mail a new link (the old one stops working) with a new expiry',
        params: InvitationParams,
        response: { 200: Invitation },
      },
      // Whoever could send this invitation today (checked by the service against its grants).
      config: { access: { permission: 'member' } },
    },
    async (req) =>
      invitations.resend(userOf(req), req.params.orgId, req.params.invitationId, requestMeta(req)),
  );

  app.get(
    '/v1/invitations/:token',
    {
      schema: {
        tags,
        summary: 'What an invitation link offers (no sign-in needed)',
        params: TokenParams,
        response: { 200: InvitationPreview },
      },
      config: { auth: 'public' },
    },
    async (req) => invitations.preview(req.params.token),
  );

  app.post(
    '/v1/invitations/:token/accept',
    {
      schema: {
        tags,
        summary: 'Accept: signed in as the invited address, or sign up with name and password',
        params: TokenParams,
        body: AcceptInvitationBody,
        response: { 200: AcceptInvitationResult },
      },
      config: { auth: 'optional' },
    },
    async (req) =>
      invitations.accept(
        req.principal ? userOf(req) : null,
        req.params.token,
        req.body ?? {},
        requestMeta(req),
      ),
  );

  app.post(
    '/v1/invitations/:token/reject',
    {
      schema: {
        tags,
        summary: 'Decline an invitation',
        params: TokenParams,
        response: { 204: z.null() },
      },
      config: { auth: 'public' },
    },
    async (req, reply) => {
      await invitations.reject(req.params.token, requestMeta(req));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/me/invitations/:invitationId/accept',
    {
      schema: {
        tags: ['me'],
        summary: 'Accept an invitation to my verified address, signed in (no mailed token needed)',
        params: z.object({ invitationId: z.string().min(1).max(64) }),
        response: { 200: AcceptInvitationResult },
      },
    },
    async (req) => invitations.acceptMine(userOf(req), req.params.invitationId, requestMeta(req)),
  );

  app.post(
    '/v1/me/invitations/:invitationId/reject',
    {
      schema: {
        tags: ['me'],
        summary: 'Decline an invitation to my verified address, signed in',
        params: z.object({ invitationId: z.string().min(1).max(64) }),
        response: { 204: z.null() },
      },
    },
    async (req, reply) => {
      await invitations.rejectMine(userOf(req), req.params.invitationId, requestMeta(req));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/me/invitations',
    {
      schema: {
        tags: ['me'],
        summary: 'Pending invitations for my verified email',
        response: { 200: z.object({ data: z.array(MyInvitation) }) },
      },
    },
    async (req) => invitations.mine(userOf(req)),
  );
}
