import { AVATAR_MAX_BYTES, UpdateMeBody, UserMetadata, UserProfile } from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta, userOf } from '../../http/context';
import type { App } from '../../http/types';
import type { Runtime } from '../../runtime';
import type { UserService } from './users.service';

const tags = ['me'];
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'application/octet-stream'];

export function meRoutes(app: App, { users }: { rt: Runtime; users: UserService }) {
  app.get(
    '/v1/me',
    {
      schema: { tags, summary: 'My profile', response: { 200: UserProfile } },
    },
    async (req) => users.profile(userOf(req).userId),
  );

  app.patch(
    '/v1/me',
    {
      schema: {
        tags,
        summary: 'Update my name, mobile, timezone and settings (email is read-only)',
        body: UpdateMeBody,
        response: { 200: UserProfile },
      },
    },
    async (req) => users.update(userOf(req), req.body, requestMeta(req)),
  );

  app.put(
    '/v1/me/metadata',
    {
      schema: {
        tags,
        summary: 'Replace my user_metadata (whole object, 16 KiB)',
        body: UserMetadata,
        response: { 200: UserProfile },
      },
    },
    async (req) => users.replaceMetadata(userOf(req), req.body, requestMeta(req)),
  );

  // The avatar is sent as the raw image body; its type is checked from its bytes. Only raw
  // bytes are parsed here: a JSON or form body is refused as an unsupported media type.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Any image/* type (and plain bytes): the bytes decide, so a GIF is unsupported_image.
    for (const type of [/^image\/[\w.+-]+\s*(;|$)/, 'application/octet-stream']) {
      scope.addContentTypeParser(
        type,
        { parseAs: 'buffer', bodyLimit: AVATAR_MAX_BYTES },
        (_req, body, done) => done(null, body),
      );
    }
    scope.put(
      '/v1/me/avatar',
      {
        schema: {
          tags,
          summary: 'Set my avatar: a PNG, JPEG or WebP image as the raw body, at most 1 MiB',
          consumes: IMAGE_TYPES,
          body: z.any().describe('the image bytes'),
          response: { 200: UserProfile },
        },
        bodyLimit: AVATAR_MAX_BYTES,
      },
      async (req) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        return users.setAvatar(userOf(req), body, requestMeta(req));
      },
    );
  });

  app.delete(
    '/v1/me/avatar',
    {
      schema: { tags, summary: 'Remove my avatar', response: { 200: UserProfile } },
    },
    async (req) => users.deleteAvatar(userOf(req), requestMeta(req)),
  );

  app.get(
    '/v1/avatars/:id',
    {
      schema: {
        tags,
        summary: 'An avatar image (public; its id is unguessable and changes with the image)',
        params: z.object({ id: z.string().min(1).max(64) }),
        produces: ['image/png', 'image/jpeg', 'image/webp'],
        response: {
          200: z
            .custom<Buffer>((v) => Buffer.isBuffer(v))
            .meta({ type: 'string', format: 'binary', description: 'the image bytes' }),
        },
      },
      config: { auth: 'public' },
    },
    async (req, reply) => {
      const avatar = await users.avatar(req.params.id);
      return reply
        .type(avatar.contentType)
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        .send(avatar.data);
    },
  );
}
