import {
  AdminListQuery,
  AdminMfaReset,
  AdminUser,
  CreateCustomerBody,
  Organization,
  PageQuery,
  page,
  SessionView,
} from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta, userOf } from '../../http/context';
import type { App } from '../../http/types';
import type { AdminService } from './admin.service';

const tags = ['platform administration'];
const Customer = Organization.extend({ members: z.number().int() });
/** Path segments never hold NUL: PostgreSQL would refuse the lookup (a 500) instead of a 404. */
const Segment = z
  .string()
  .min(1)
  .max(64)
  .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const CustomerParams = z.object({ orgId: Segment });
const UserParams = z.object({ userId: Segment });
const UserSessionParams = z.object({ userId: Segment, sessionId: Segment });

/** Platform administrators only (`config.platformAdmin`, enforced by the hook in app.ts). */
export function adminRoutes(app: App, { admin }: { admin: AdminService }) {
  const config = { platformAdmin: true };

  app.post(
    '/v1/admin/customers',
    {
      schema: {
        tags,
        summary: 'Create a customer: organization + owner (found or created) + a mail to the owner',
        body: CreateCustomerBody,
        response: { 201: Customer.omit({ members: true }) },
      },
      config,
    },
    async (req, reply) =>
      reply.code(201).send(await admin.createCustomer(userOf(req), req.body, requestMeta(req))),
  );

  app.get(
    '/v1/admin/customers',
    {
      schema: {
        tags,
        summary: 'Customers, newest first; search by name or slug',
        querystring: AdminListQuery,
        response: { 200: page(Customer) },
      },
      config,
    },
    async (req) => admin.listCustomers(req.query),
  );

  app.get(
    '/v1/admin/customers/:orgId',
    {
      schema: {
        tags,
        summary: 'One customer',
        params: CustomerParams,
        response: { 200: Customer },
      },
      config,
    },
    async (req) => admin.getCustomer(req.params.orgId),
  );

  app.post(
    '/v1/admin/customers/:orgId/suspend',
    {
      schema: {
        tags,
        summary: 'Suspend a customer: all its members and keys are refused at once',
        params: CustomerParams,
        response: { 200: Customer },
      },
      config,
    },
    async (req) =>
      admin.setCustomerStatus(userOf(req), req.params.orgId, 'suspended', requestMeta(req)),
  );

  app.post(
    '/v1/admin/customers/:orgId/reactivate',
    {
      schema: {
        tags,
        summary: 'Reactivate a suspended customer',
        params: CustomerParams,
        response: { 200: Customer },
      },
      config,
    },
    async (req) =>
      admin.setCustomerStatus(userOf(req), req.params.orgId, 'active', requestMeta(req)),
  );

  app.get(
    '/v1/admin/users',
    {
      schema: {
        tags,
        summary: 'Users across the platform; search by email or name',
        querystring: AdminListQuery,
        response: { 200: page(AdminUser) },
      },
      config,
    },
    async (req) => admin.listUsers(req.query),
  );

  for (const [path, status, summary] of [
    ['suspend', 'suspended', 'Suspend a user (reversible); their sessions are revoked at once'],
    ['reactivate', 'active', 'Reactivate a suspended or deactivated user'],
    ['deactivate', 'deactivated', 'Deactivate a user; their sessions are revoked at once'],
  ] as const) {
    app.post(
      `/v1/admin/users/:userId/${path}`,
      {
        schema: { tags, summary, params: UserParams, response: { 200: AdminUser } },
        config,
      },
      async (req) => admin.setUserStatus(userOf(req), req.params.userId, status, requestMeta(req)),
    );
  }

  app.post(
    '/v1/admin/users/:userId/mfa/reset',
    {
      schema: {
        tags,
        summary:
          "Reset a user's second factors: removes every factor and recovery code, mails the user; sessions keep working (step-up)",
        params: UserParams,
        response: { 200: AdminMfaReset },
      },
      config: { ...config, stepUp: true },
    },
    async (req) => admin.resetMfa(userOf(req), req.params.userId, requestMeta(req)),
  );

  app.get(
    '/v1/admin/users/:userId/sessions',
    {
      schema: {
        tags,
        summary: "A user's active sessions, newest first",
        params: UserParams,
        querystring: PageQuery,
        response: { 200: page(SessionView) },
      },
      config,
    },
    async (req) =>
      admin.listUserSessions(userOf(req), req.params.userId, req.query.limit, req.query.cursor),
  );

  app.delete(
    '/v1/admin/users/:userId/sessions/:sessionId',
    {
      schema: {
        tags,
        summary: "Revoke one of a user's sessions: refused on its next request",
        params: UserSessionParams,
        response: { 204: z.null().describe('done') },
      },
      config,
    },
    async (req, reply) => {
      await admin.revokeUserSession(
        userOf(req),
        req.params.userId,
        req.params.sessionId,
        requestMeta(req),
      );
      return reply.code(204).send(null);
    },
  );
}
