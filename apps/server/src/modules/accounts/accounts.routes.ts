import {
  Account,
  CreateAccountBody,
  CreateResourceBody,
  PageQuery,
  page,
  Resource,
  UpdateAccountBody,
  UpdateResourceBody,
} from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta, userOf } from '../../http/context';
import type { App } from '../../http/types';
import type { AccountService } from './accounts.service';

const tags = ['accounts'];
const OrgParams = z.object({ orgId: z.string().min(1).max(64) });
const AccountParams = OrgParams.extend({ accountId: z.string().min(1).max(64) });
const ResourceParams = AccountParams.extend({ resourceId: z.string().min(1).max(64) });

export function accountRoutes(app: App, { accounts }: { accounts: AccountService }) {
  app.get(
    '/v1/organizations/:orgId/accounts',
    {
      schema: {
        tags,
        summary: 'Accounts I may read',
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: page(Account) },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) => accounts.list(userOf(req), req.params.orgId, req.query.limit, req.query.cursor),
  );

  app.post(
    '/v1/organizations/:orgId/accounts',
    {
      schema: {
        tags,
        summary: 'Create an account (project, service, source) of a product',
        params: OrgParams,
        body: CreateAccountBody,
        response: { 201: Account },
      },
      config: { access: { permission: 'accounts:create' } },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(await accounts.create(userOf(req), req.params.orgId, req.body, requestMeta(req))),
  );

  app.get(
    '/v1/organizations/:orgId/accounts/:accountId',
    {
      schema: { tags, summary: 'An account', params: AccountParams, response: { 200: Account } },
      config: { access: { permission: 'accounts:read', scopeParam: 'accountId' } },
    },
    async (req) => accounts.get(req.params.orgId, req.params.accountId),
  );

  app.patch(
    '/v1/organizations/:orgId/accounts/:accountId',
    {
      schema: {
        tags,
        summary: 'Rename an account',
        params: AccountParams,
        body: UpdateAccountBody,
        response: { 200: Account },
      },
      config: { access: { permission: 'accounts:update', scopeParam: 'accountId' } },
    },
    async (req) =>
      accounts.update(
        userOf(req),
        req.params.orgId,
        req.params.accountId,
        req.body,
        requestMeta(req),
      ),
  );

  app.delete(
    '/v1/organizations/:orgId/accounts/:accountId',
    {
      schema: {
        tags,
        summary: 'Delete an account with its resources and the grants on them',
        params: AccountParams,
        response: { 204: z.null() },
      },
      config: { access: { permission: 'accounts:delete', scopeParam: 'accountId' } },
    },
    async (req, reply) => {
      await accounts.remove(userOf(req), req.params.orgId, req.params.accountId, requestMeta(req));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/organizations/:orgId/accounts/:accountId/resources',
    {
      schema: {
        tags,
        summary: 'Resources of an account I may read',
        params: AccountParams,
        querystring: PageQuery,
        response: { 200: page(Resource) },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) =>
      accounts.listResources(
        userOf(req),
        req.params.orgId,
        req.params.accountId,
        req.query.limit,
        req.query.cursor,
      ),
  );

  app.post(
    '/v1/organizations/:orgId/accounts/:accountId/resources',
    {
      schema: {
        tags,
        summary: 'Create a resource (room, collection, source, folder) in an account',
        params: AccountParams,
        body: CreateResourceBody,
        response: { 201: Resource },
      },
      config: { access: { permission: 'resources:create', scopeParam: 'accountId' } },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(
          await accounts.createResource(
            userOf(req),
            req.params.orgId,
            req.params.accountId,
            req.body,
            requestMeta(req),
          ),
        ),
  );

  app.get(
    '/v1/organizations/:orgId/accounts/:accountId/resources/:resourceId',
    {
      schema: { tags, summary: 'A resource', params: ResourceParams, response: { 200: Resource } },
      config: { access: { permission: 'resources:read', scopeParam: 'resourceId' } },
    },
    async (req) =>
      accounts.getResource(req.params.orgId, req.params.accountId, req.params.resourceId),
  );

  app.patch(
    '/v1/organizations/:orgId/accounts/:accountId/resources/:resourceId',
    {
      schema: {
        tags,
        summary: 'Rename a resource',
        params: ResourceParams,
        body: UpdateResourceBody,
        response: { 200: Resource },
      },
      config: { access: { permission: 'resources:update', scopeParam: 'resourceId' } },
    },
    async (req) =>
      accounts.updateResource(
        userOf(req),
        req.params.orgId,
        req.params.accountId,
        req.params.resourceId,
        req.body,
        requestMeta(req),
      ),
  );

  app.delete(
    '/v1/organizations/:orgId/accounts/:accountId/resources/:resourceId',
    {
      schema: {
        tags,
        summary: 'Delete a resource (and its children) and the grants on them',
        params: ResourceParams,
        response: { 204: z.null() },
      },
      config: { access: { permission: 'resources:delete', scopeParam: 'resourceId' } },
    },
    async (req, reply) => {
      await accounts.removeResource(
        userOf(req),
        req.params.orgId,
        req.params.accountId,
        req.params.resourceId,
        requestMeta(req),
      );
      return reply.code(204).send(null);
    },
  );
}
