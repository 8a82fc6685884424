import {
  CreateRoleBody,
  DeleteRoleQuery,
  PermissionView,
  Role,
  TemplateView,
  UpdateRoleBody,
} from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta, userOf } from '../../http/context';
import type { App } from '../../http/types';
import type { AccessService } from '../access/access.service';
import { type RoleService, toRole } from './roles.service';

const tags = ['roles'];
const OrgParams = z.object({ orgId: z.string().min(1).max(64) });
const RoleParams = OrgParams.extend({ roleKey: z.string().min(1).max(64) });

export function roleRoutes(
  app: App,
  { roles, access }: { roles: RoleService; access: AccessService },
) {
  app.get(
    '/v1/permissions',
    {
      schema: {
        tags,
        summary: 'The permission catalog',
        response: {
          200: z.object({
            data: z.array(PermissionView),
            products: z.array(
              z.object({ key: z.string(), name: z.string(), description: z.string() }),
            ),
          }),
        },
      },
      config: { auth: 'public' },
    },
    async () => ({
      data: [...access.catalog.permissions.values()].map((p) => ({
        name: p.name,
        description: p.description,
        product: p.product,
      })),
      products: [...access.catalog.products.values()].map((p) => ({
        key: p.key,
        name: p.name,
        description: p.description,
      })),
    }),
  );

  app.get(
    '/v1/templates',
    {
      schema: {
        tags,
        summary: 'The role templates an organization can be created with',
        response: { 200: z.object({ data: z.array(TemplateView) }) },
      },
      config: { auth: 'public' },
    },
    async () => ({
      data: [...access.catalog.templates.values()].map((t) => ({
        key: t.key,
        name: t.name,
        description: t.description,
        // Spelled out in snake_case like the rest of the API: spreading the engine's object
        // leaked its camelCase keys (`defaultRole`) into the JSON (found by the accounts story).
        invite_policy: {
          inviters: t.invitePolicy.inviters,
          permission: t.invitePolicy.permission,
          default_role: t.invitePolicy.defaultRole,
          owner_only_roles: [...t.invitePolicy.ownerOnlyRoles],
          owner_may_offer_ownership: t.invitePolicy.ownerMayOfferOwnership,
          summary: t.invitePolicy.summary,
        },
        roles: t.roles.map((r) => toRole(r, true)),
      })),
    }),
  );

  app.get(
    '/v1/organizations/:orgId/roles',
    {
      schema: {
        tags,
        summary: "The organization's roles: built-in and custom",
        params: OrgParams,
        response: { 200: z.object({ data: z.array(Role) }) },
      },
      // Held at some account is enough: an account admin ("users can only add users to accounts
      // where they are Admin", template accounts) must know the roles to grant them there. The
      // roles are the organization's vocabulary, the same at every scope: nothing to filter.
      config: { access: { permission: 'roles:read', reach: true } },
    },
    async (req) => roles.list(req.params.orgId),
  );

  app.post(
    '/v1/organizations/:orgId/roles',
    {
      schema: {
        tags,
        summary: 'Create a custom role (only with permissions you hold)',
        params: OrgParams,
        body: CreateRoleBody,
        response: { 201: Role },
      },
      config: { access: { permission: 'roles:manage' } },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(await roles.create(userOf(req), req.params.orgId, req.body, requestMeta(req))),
  );

  app.get(
    '/v1/organizations/:orgId/roles/:roleKey',
    {
      schema: { tags, summary: 'A role', params: RoleParams, response: { 200: Role } },
      config: { access: { permission: 'roles:read' } },
    },
    async (req) => roles.get(req.params.orgId, req.params.roleKey),
  );

  app.patch(
    '/v1/organizations/:orgId/roles/:roleKey',
    {
      schema: {
        tags,
        summary: 'Edit a custom role (built-in roles are read-only)',
        params: RoleParams,
        body: UpdateRoleBody,
        response: { 200: Role },
      },
      config: { access: { permission: 'roles:manage' } },
    },
    async (req) =>
      roles.update(userOf(req), req.params.orgId, req.params.roleKey, req.body, requestMeta(req)),
  );

  app.delete(
    '/v1/organizations/:orgId/roles/:roleKey',
    {
      schema: {
        tags,
        summary: 'Delete a custom role; if still granted, name its replacement',
        params: RoleParams,
        querystring: DeleteRoleQuery,
        response: { 204: z.null() },
      },
      config: { access: { permission: 'roles:manage' } },
    },
    async (req, reply) => {
      await roles.remove(
        userOf(req),
        req.params.orgId,
        req.params.roleKey,
        req.query.replace_with,
        requestMeta(req),
      );
      return reply.code(204).send(null);
    },
  );
}
