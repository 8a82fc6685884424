import {
  CreateOrganizationBody,
  DeleteOrganizationBody,
  MyOrganization,
  OfferOwnershipBody,
  Organization,
  OwnershipOffer,
  PageQuery,
  page,
  SwitchResponse,
  UpdateOrganizationBody,
} from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta, userOf } from '../../http/context';
import type { App } from '../../http/types';
import type { OrganizationService } from './organizations.service';

const tags = ['organizations'];
const OrgParams = z.object({ orgId: z.string().min(1).max(64) });
const OfferParams = OrgParams.extend({ offerId: z.string().min(1).max(64) });
const AccountParams = OrgParams.extend({ accountId: z.string().min(1).max(64) });

export function organizationRoutes(
  app: App,
  { organizations }: { organizations: OrganizationService },
) {
  app.get(
    '/v1/organizations',
    {
      schema: {
        tags,
        summary: 'The organizations I belong to',
        querystring: PageQuery,
        response: { 200: page(MyOrganization) },
      },
    },
    async (req) => organizations.listMine(userOf(req), req.query.limit, req.query.cursor),
  );

  app.post(
    '/v1/organizations',
    {
      schema: {
        tags,
        summary: 'Create an organization; I become its owner',
        body: CreateOrganizationBody,
        response: { 201: Organization },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await organizations.create(userOf(req), req.body, requestMeta(req))),
  );

  app.get(
    '/v1/organizations/:orgId',
    {
      schema: {
        tags,
        summary: 'An organization I belong to',
        params: OrgParams,
        response: { 200: Organization },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) => organizations.get(req.params.orgId),
  );

  app.patch(
    '/v1/organizations/:orgId',
    {
      schema: {
        tags,
        summary: 'Update name, slug, settings and policies',
        params: OrgParams,
        body: UpdateOrganizationBody,
        response: { 200: Organization },
      },
      config: { access: { permission: 'organization:update' } },
    },
    async (req) => organizations.update(userOf(req), req.params.orgId, req.body, requestMeta(req)),
  );

  app.delete(
    '/v1/organizations/:orgId',
    {
      schema: {
        tags,
        summary: 'Delete the organization (owner only; repeat its name)',
        params: OrgParams,
        body: DeleteOrganizationBody,
        response: { 204: z.null() },
      },
      config: { access: { permission: 'organization:delete' } },
    },
    async (req, reply) => {
      await organizations.remove(
        userOf(req),
        req.params.orgId,
        req.body.confirm_name,
        requestMeta(req),
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/organizations/:orgId/switch',
    {
      schema: {
        tags,
        summary:
          "Make it my session's current organization; answers an access token that carries it",
        params: OrgParams,
        response: { 200: SwitchResponse },
      },
    },
    async (req) => organizations.switchTo(userOf(req), req.params.orgId, requestMeta(req)),
  );

  app.post(
    '/v1/organizations/:orgId/transfer-ownership',
    {
      schema: {
        tags,
        summary: 'Offer ownership of the organization to an active member (owner only)',
        params: OrgParams,
        body: OfferOwnershipBody,
        response: { 201: OwnershipOffer },
      },
      config: { access: { permission: 'member' }, stepUp: true },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(
          await organizations.offerOwnership(
            userOf(req),
            req.params.orgId,
            { kind: 'organization' },
            req.body.user_id,
            requestMeta(req),
          ),
        ),
  );

  app.post(
    '/v1/organizations/:orgId/accounts/:accountId/transfer-ownership',
    {
      schema: {
        tags: ['accounts'],
        summary:
          'Offer ownership of an account to an active member (its owner or the organization owner)',
        params: AccountParams,
        body: OfferOwnershipBody,
        response: { 201: OwnershipOffer },
      },
      config: { access: { permission: 'member' }, stepUp: true },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(
          await organizations.offerOwnership(
            userOf(req),
            req.params.orgId,
            { kind: 'account', accountId: req.params.accountId },
            req.body.user_id,
            requestMeta(req),
          ),
        ),
  );

  app.get(
    '/v1/organizations/:orgId/ownership-offers',
    {
      schema: {
        tags,
        summary: 'Pending ownership offers made by me or to me',
        params: OrgParams,
        response: { 200: z.object({ data: z.array(OwnershipOffer) }) },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) => organizations.listOffers(userOf(req), req.params.orgId),
  );

  app.post(
    '/v1/organizations/:orgId/ownership-offers/:offerId/accept',
    {
      schema: {
        tags,
        summary: 'Accept an ownership offer made to me',
        params: OfferParams,
        response: { 200: OwnershipOffer },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) =>
      organizations.acceptOffer(
        userOf(req),
        req.params.orgId,
        req.params.offerId,
        requestMeta(req),
      ),
  );

  app.post(
    '/v1/organizations/:orgId/ownership-offers/:offerId/decline',
    {
      schema: {
        tags,
        summary: 'Decline an ownership offer made to me',
        params: OfferParams,
        response: { 200: OwnershipOffer },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) =>
      organizations.closeOffer(
        userOf(req),
        req.params.orgId,
        req.params.offerId,
        'declined',
        requestMeta(req),
      ),
  );

  app.delete(
    '/v1/organizations/:orgId/ownership-offers/:offerId',
    {
      schema: {
        tags,
        summary: 'Withdraw an ownership offer I made',
        params: OfferParams,
        response: { 200: OwnershipOffer },
      },
      config: { access: { permission: 'member' } },
    },
    async (req) =>
      organizations.closeOffer(
        userOf(req),
        req.params.orgId,
        req.params.offerId,
        'withdrawn',
        requestMeta(req),
      ),
  );
}
