import { ApiKey, CreateApiKeyBody, CreatedApiKey, PageQuery, page } from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta, userOf } from '../../http/context';
import type { App } from '../../http/types';
import type { ApiKeyService } from './api-keys.service';

const tags = ['api keys'];
const OrgParams = z.object({ orgId: z.string().min(1).max(64) });
const KeyParams = OrgParams.extend({ keyId: z.string().min(1).max(64) });

export function apiKeyRoutes(app: App, { apiKeys }: { apiKeys: ApiKeyService }) {
  app.get(
    '/v1/organizations/:orgId/api-keys',
    {
      schema: {
        tags,
        summary: "The organization's API keys (never their secrets)",
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: page(ApiKey) },
      },
      config: { access: { permission: 'api_keys:read' } },
    },
    async (req) => apiKeys.list(req.params.orgId, req.query.limit, req.query.cursor),
  );

  app.post(
    '/v1/organizations/:orgId/api-keys',
    {
      schema: {
        tags,
        summary: 'Create an API key with grants (at most your own); the secret is shown once',
        params: OrgParams,
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey },
      },
      config: { access: { permission: 'api_keys:manage' }, stepUp: true },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(await apiKeys.create(userOf(req), req.params.orgId, req.body, requestMeta(req))),
  );

  app.get(
    '/v1/organizations/:orgId/api-keys/:keyId',
    {
      schema: { tags, summary: 'One API key', params: KeyParams, response: { 200: ApiKey } },
      config: { access: { permission: 'api_keys:read' } },
    },
    async (req) => apiKeys.get(req.params.orgId, req.params.keyId),
  );

  app.delete(
    '/v1/organizations/:orgId/api-keys/:keyId',
    {
      schema: {
        tags,
        summary: 'Revoke an API key: refused at once, on every node',
        params: KeyParams,
        response: { 200: ApiKey },
      },
      config: { access: { permission: 'api_keys:manage' } },
    },
    async (req) =>
      apiKeys.revoke(userOf(req), req.params.orgId, req.params.keyId, requestMeta(req)),
  );
}
