import {
  AddGrantsBody,
  AddMemberBody,
  BulkMembersBody,
  BulkMembersResult,
  GrantView,
  Member,
  MemberDetail,
  MemberLoginMethodsBody,
  MemberPermissions,
  MemberPermissionsQuery,
  MembersQuery,
  MyMembership,
  page,
  ReplaceGrantsBody,
  UpdateMemberBody,
} from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta, userOf } from '../../http/context';
import type { App } from '../../http/types';
import type { AccessService } from '../access/access.service';
import type { MemberService } from './members.service';

const tags = ['members'];
const OrgParams = z.object({ orgId: z.string().min(1).max(64) });
const MemberParams = OrgParams.extend({ userId: z.string().min(1).max(64) });
const GrantParams = MemberParams.extend({ grantId: z.string().min(1).max(64) });
const GrantList = z.object({ data: z.array(GrantView) });
const NoContent = { 204: z.null() };

export function memberRoutes(
  app: App,
  // `access` is passed by app.ts; the checks it makes here live in the members service now
  { members }: { members: MemberService; access: AccessService },
) {
  app.post(
    '/v1/organizations/:orgId/members',
    {
      schema: {
        tags,
        summary:
          'Add a user directly ("associate user") with grants; optionally mail a set-password link',
        params: OrgParams,
        body: AddMemberBody,
        response: { 201: MemberDetail },
      },
      config: { access: { permission: 'member' } },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(await members.add(userOf(req), req.params.orgId, req.body, requestMeta(req))),
  );

  app.get(
    '/v1/organizations/:orgId/members',
    {
      schema: {
        tags,
        summary:
          'Members: search by name or email, filter by role, account, status; sort; cursor pagination',
        params: OrgParams,
        querystring: MembersQuery,
        response: { 200: page(Member) },
      },
      // An account admin lists the members of their accounts (issue 10 #4).
      config: { access: { permission: 'members:read', reach: true } },
    },
    async (req) => members.list(req.params.orgId, req.query, req.reach),
  );

  app.post(
    '/v1/organizations/:orgId/members/bulk',
    {
      schema: {
        tags,
        summary: 'Remove, suspend or reactivate up to 500 members, with a result per id',
        params: OrgParams,
        body: BulkMembersBody,
        response: { 200: BulkMembersResult },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) =>
      members.bulk(
        userOf(req),
        req.params.orgId,
        req.body.action,
        req.body.user_ids,
        requestMeta(req),
      ),
  );

  app.get(
    '/v1/organizations/:orgId/members/:userId',
    {
      schema: {
        tags,
        summary: 'A member: profile, grants, effective permissions',
        params: MemberParams,
        response: { 200: MemberDetail },
      },
      config: { access: { permission: 'members:read', reach: true, memberParam: 'userId' } },
    },
    async (req) => members.detail(req.params.orgId, req.params.userId, req.reach),
  );

  app.get(
    '/v1/organizations/:orgId/me',
    {
      schema: {
        tags,
        summary: 'My own membership: grants, role names and effective permissions (any member)',
        params: z.object({ orgId: z.string().min(1).max(64) }),
        response: { 200: MyMembership },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) => members.mine(req.params.orgId, userOf(req).userId),
  );

  app.put(
    '/v1/organizations/:orgId/members/:userId/login-methods',
    {
      schema: {
        tags,
        summary: "Set a member's login type: the sign-in methods accepted for this organization",
        params: MemberParams,
        body: MemberLoginMethodsBody,
        response: { 200: MemberDetail },
      },
      config: { access: { permission: 'members:update' } },
    },
    async (req) =>
      members.setLoginMethods(
        userOf(req),
        req.params.orgId,
        req.params.userId,
        req.body.login_methods,
        requestMeta(req),
      ),
  );

  app.patch(
    '/v1/organizations/:orgId/members/:userId',
    {
      schema: {
        tags,
        summary: 'Edit name, email, timezone of a user this organization manages alone',
        params: MemberParams,
        body: UpdateMemberBody,
        response: { 200: MemberDetail },
      },
      config: { access: { permission: 'members:update' } },
    },
    async (req) =>
      members.updateManaged(
        userOf(req),
        req.params.orgId,
        req.params.userId,
        req.body,
        requestMeta(req),
      ),
  );

  app.delete(
    '/v1/organizations/:orgId/members/:userId',
    {
      schema: {
        tags,
        summary: 'Remove a member (or leave, for yourself); the audit trail stays',
        params: MemberParams,
        response: NoContent,
      },
      config: { access: { permission: 'member' } },
    },
    async (req, reply) => {
      await members.one(
        userOf(req),
        req.params.orgId,
        'remove',
        req.params.userId,
        requestMeta(req),
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/organizations/:orgId/members/:userId/suspend',
    {
      schema: {
        tags,
        summary: 'Suspend a member: refused in this organization at once',
        params: MemberParams,
        response: NoContent,
      },
      config: { access: { permission: 'members:update', reach: true, memberParam: 'userId' } },
    },
    async (req, reply) => {
      await members.one(
        userOf(req),
        req.params.orgId,
        'suspend',
        req.params.userId,
        requestMeta(req),
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/organizations/:orgId/members/:userId/reactivate',
    {
      schema: {
        tags,
        summary: 'Reactivate a suspended member',
        params: MemberParams,
        response: NoContent,
      },
      config: { access: { permission: 'members:update', reach: true, memberParam: 'userId' } },
    },
    async (req, reply) => {
      await members.one(
        userOf(req),
        req.params.orgId,
        'reactivate',
        req.params.userId,
        requestMeta(req),
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/organizations/:orgId/members/:userId/grants',
    {
      schema: {
        tags,
        summary: "A member's grants",
        params: MemberParams,
        response: { 200: GrantList },
      },
      config: { access: { permission: 'members:read', reach: true, memberParam: 'userId' } },
    },
    async (req) => ({
      data: (await members.detail(req.params.orgId, req.params.userId, req.reach)).grants,
    }),
  );

  app.put(
    '/v1/organizations/:orgId/members/:userId/grants',
    {
      schema: {
        tags,
        summary: "Replace a member's grants (each checked: no escalation)",
        params: MemberParams,
        body: ReplaceGrantsBody,
        response: { 200: GrantList },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) =>
      members.replaceGrants(
        userOf(req),
        req.params.orgId,
        req.params.userId,
        req.body.grants,
        requestMeta(req),
      ),
  );

  app.post(
    '/v1/organizations/:orgId/members/:userId/grants',
    {
      schema: {
        tags,
        summary: 'Add grants to a member (each checked: no escalation)',
        params: MemberParams,
        body: AddGrantsBody,
        response: { 200: GrantList },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) =>
      members.addGrants(
        userOf(req),
        req.params.orgId,
        req.params.userId,
        req.body.grants,
        requestMeta(req),
      ),
  );

  app.delete(
    '/v1/organizations/:orgId/members/:userId/grants/:grantId',
    {
      schema: {
        tags,
        summary: 'Remove one grant of a member',
        params: GrantParams,
        response: { 200: GrantList },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) =>
      members.removeGrants(
        userOf(req),
        req.params.orgId,
        req.params.userId,
        [req.params.grantId],
        requestMeta(req),
      ),
  );

  app.get(
    '/v1/organizations/:orgId/members/:userId/permissions',
    {
      schema: {
        tags,
        summary:
          "A member's effective permissions at a scope (default: the organization); your own need no permission",
        params: MemberParams,
        querystring: MemberPermissionsQuery,
        response: { 200: MemberPermissions },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) =>
      members.permissions(userOf(req), req.params.orgId, req.params.userId, req.query.scope),
  );
}
