import { SessionTokens, SetupBody } from '@gatehouse/contracts';
import { requestMeta } from '../../http/context';
import type { App } from '../../http/types';
import type { Runtime } from '../../runtime';
import type { SetupService } from './setup.service';

const tags = ['setup'];

/**
 * The first platform admin. The page for the printed setup link is the console's `/setup`
 * (apps/console); it posts here as JSON.
 */
export function setupRoutes(app: App, { setup, rt }: { rt: Runtime; setup: SetupService }) {
  app.post(
    '/v1/setup',
    {
      schema: {
        tags,
        summary: 'Create the first platform admin with the setup token',
        body: SetupBody,
        response: { 201: SessionTokens },
      },
      config: { auth: 'public' },
    },
    async (req, reply) => {
      const { issued } = await setup.setupWithToken(req.body, requestMeta(req));
      return reply.code(201).send({
        token_type: 'Bearer' as const,
        access_token: issued.accessToken,
        expires_in: rt.config.accessTokenTtl,
        refresh_token: issued.refreshToken,
        session_id: issued.session.id,
      });
    },
  );
}
