import { AuditEvent, AuditHead, AuditQuery, AuditVerifyResult, page } from '@gatehouse/contracts';
import { z } from 'zod';
import type { App } from '../../http/types';
import type { AuditService } from './audit.service';

const tags = ['audit'];
const OrgParams = z.object({ orgId: z.string().min(1).max(64) });
const ExportQuery = AuditQuery.omit({ limit: true, cursor: true });
/** A head kept earlier (`…/head`'s `checkpoint`): verify also says whether the chain still holds it. */
const Anchor = z
  .string()
  .min(1)
  .max(4096)
  .optional()
  .describe('a signed head kept from `…/audit-logs/head` (its `checkpoint`)');

export function auditRoutes(app: App, { audit }: { audit: AuditService }) {
  app.get(
    '/v1/organizations/:orgId/audit-logs',
    {
      schema: {
        tags,
        summary: 'Audit events, newest first; filter by actor, action, target, time',
        params: OrgParams,
        querystring: AuditQuery,
        response: { 200: page(AuditEvent) },
      },
      config: { access: { permission: 'audit:read' } },
    },
    async (req) => audit.list(req.params.orgId, req.query),
  );

  app.get(
    '/v1/organizations/:orgId/audit-logs/verify',
    {
      schema: {
        tags,
        summary: "Recompute the organization's hash chain; report the first broken link",
        params: OrgParams,
        querystring: z.object({ anchor: Anchor }),
        response: { 200: AuditVerifyResult },
      },
      config: { access: { permission: 'audit:read' } },
    },
    async (req) => audit.verify(req.params.orgId, req.query.anchor),
  );

  app.get(
    '/v1/organizations/:orgId/audit-logs/head',
    {
      schema: {
        tags,
        summary: "The chain's newest event, signed: keep it elsewhere to detect removed events",
        params: OrgParams,
        response: { 200: AuditHead },
      },
      config: { access: { permission: 'audit:read' } },
    },
    async (req) => audit.head(req.params.orgId),
  );

  app.get(
    '/v1/organizations/:orgId/audit-logs/export',
    {
      schema: {
        tags,
        summary: 'Every matching event as NDJSON, oldest first',
        params: OrgParams,
        querystring: ExportQuery,
        produces: ['application/x-ndjson'],
        response: { 200: z.string().describe('one JSON event per line') },
      },
      config: { access: { permission: 'audit:read' } },
    },
    async (req, reply) => {
      reply
        .type('application/x-ndjson')
        .header('content-disposition', `attachment; filename="audit-${req.params.orgId}.ndjson"`);
      const { Readable } = await import('node:stream');
      // Streamed: the response schema documents the format; a stream is not serialised.
      return reply.send(
        Readable.from(audit.exportNdjson(req.params.orgId, req.query)) as unknown as string,
      );
    },
  );

  app.get(
    '/v1/admin/audit-logs',
    {
      schema: {
        tags: ['platform administration'],
        summary: 'Audit events across organizations (platform admins)',
        querystring: AuditQuery.extend({
          organization_id: z
            .string()
            .max(64)
            .optional()
            .describe("an organization's id, or `platform` for events outside organizations"),
        }),
        response: { 200: page(AuditEvent) },
      },
      config: { platformAdmin: true },
    },
    async (req) => {
      const { organization_id: org, ...q } = req.query;
      return audit.list(org === undefined ? undefined : org === 'platform' ? null : org, q);
    },
  );

  app.get(
    '/v1/admin/audit-logs/verify',
    {
      schema: {
        tags: ['platform administration'],
        summary: 'Verify one chain (an organization, or `platform`)',
        querystring: z.object({ organization_id: z.string().min(1).max(64), anchor: Anchor }),
        response: { 200: AuditVerifyResult },
      },
      config: { platformAdmin: true },
    },
    async (req) =>
      audit.verify(
        req.query.organization_id === 'platform' ? null : req.query.organization_id,
        req.query.anchor,
      ),
  );

  app.get(
    '/v1/admin/audit-logs/head',
    {
      schema: {
        tags: ['platform administration'],
        summary: 'The newest event of one chain (an organization, or `platform`), signed',
        querystring: z.object({ organization_id: z.string().min(1).max(64) }),
        response: { 200: AuditHead },
      },
      config: { platformAdmin: true },
    },
    async (req) =>
      audit.head(req.query.organization_id === 'platform' ? null : req.query.organization_id),
  );
}
