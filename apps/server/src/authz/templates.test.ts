import { describe, expect, it } from 'vitest';
import { defaultCatalog, validateRoleDefinition } from './catalog';
import { canGrant, compileRoles, evaluate, type Grant, type Principal } from './evaluate';
import { chain, isWithin, member, ORG, resolve, SCOPES } from './fixtures';
import { BUILT_IN_TEMPLATES, TEMPLATE_KEYS } from './templates';

/** [story, principal, permission, scope, allowed] */
type Story = [string, Principal, string, string, boolean];

const as = (role: string, scope: string = ORG): Principal => member([{ role, scope }]);
const inline = (permissions: string[], scope: string): Grant => ({ permissions, scope });

function check(template: string, [, principal, permission, scope]: Story) {
  return evaluate(
    defaultCatalog,
    compileRoles(defaultCatalog, template),
    principal,
    permission,
    chain(scope),
  );
}

describe('every template', () => {
  it('is shipped under its key', () => {
    expect(BUILT_IN_TEMPLATES.map((t) => t.key)).toEqual([...TEMPLATE_KEYS]);
  });

  describe.each(BUILT_IN_TEMPLATES.map((t) => [t.key, t] as const))('%s', (_key, template) => {
    it('has an owner holding * that is never granted', () => {
      const owner = template.roles.find((r) => r.key === 'owner');
      expect(owner).toMatchObject({ permissions: ['*'], product: null, grantableAt: [] });
    });

    it.each(template.roles.filter((r) => r.key !== 'owner').map((r) => [r.key, r] as const))(
      'defines %s validly against the catalog',
      (_roleKey, role) => {
        expect(validateRoleDefinition(defaultCatalog, role)).toEqual([]);
      },
    );

    it('gives the owner role to nobody, even when a grant names it', () => {
      const decision = evaluate(
        defaultCatalog,
        template,
        as('owner'),
        'organization:read',
        chain(ORG),
      );
      expect(decision.allowed).toBe(false);
    });
  });
});

describe('role keys per template', () => {
  it.each([
    [
      'media',
      [
        'owner',
        'admin',
        'accountant',
        'video-admin',
        'video-developer',
        'video-analyst',
        'video-source-specific',
        'image-admin',
        'image-developer',
        'image-analyst',
        'image-source-specific',
      ],
    ],
    ['accounts', ['owner', 'admin', 'viewer']],
    ['team', ['owner', 'admin', 'user']],
    ['permissions', ['owner', 'admin', 'member', 'project', 'billing', 'api-access']],
    ['reseller', ['owner', 'member']],
  ])('%s has %j', (key, roles) => {
    expect(defaultCatalog.templates.get(key)?.roles.map((r) => r.key)).toEqual(roles);
  });
});

describe('media: the image + video platform', () => {
  it.each<Story>([
    [
      'the owner adds users',
      member([], { isOrganizationOwner: true }),
      'members:invite',
      ORG,
      true,
    ],
    [
      'the owner manages API keys',
      member([], { isOrganizationOwner: true }),
      'api_keys:manage',
      ORG,
      true,
    ],
    [
      'a video-developer creates assets on a video account',
      as('video-developer'),
      'video.assets:create',
      'acc_video1',
      true,
    ],
    [
      'a video-developer deletes profiles on a video account',
      as('video-developer'),
      'video.profiles:delete',
      'acc_video2',
      true,
    ],
    [
      'a video-developer creates assets in a collection folder',
      as('video-developer'),
      'video.assets:create',
      'res_v1a',
      true,
    ],
    [
      'a video-developer gets nothing on an image account',
      as('video-developer'),
      'accounts:read',
      'acc_image1',
      false,
    ],
    [
      'a video-developer cannot touch image sources',
      as('video-developer'),
      'image.sources:create',
      ORG,
      false,
    ],
    ['a video-developer cannot see billing', as('video-developer'), 'billing:read', ORG, false],
    [
      'a video-developer has no insights',
      as('video-developer'),
      'video.insights:read',
      'acc_video1',
      false,
    ],
    [
      'a video-developer granted on one account has nothing on another',
      as('video-developer', 'acc_video1'),
      'video.assets:create',
      'acc_video2',
      false,
    ],
    ['a video-analyst reads usage', as('video-analyst'), 'video.usage:read', 'acc_video1', true],
    [
      'a video-analyst reads insights',
      as('video-analyst'),
      'video.insights:read',
      'acc_video1',
      true,
    ],
    [
      'a video-analyst cannot create assets',
      as('video-analyst'),
      'video.assets:create',
      'acc_video1',
      false,
    ],
    ['a video-admin creates assets', as('video-admin'), 'video.assets:create', 'acc_video1', true],
    ['a video-admin reads insights', as('video-admin'), 'video.insights:read', 'acc_video1', true],
    [
      'a video-admin gets nothing on an image account',
      as('video-admin'),
      'image.insights:read',
      'acc_image1',
      false,
    ],
    ['a video-admin cannot add users', as('video-admin'), 'members:invite', ORG, false],
    [
      'an image-developer creates sources',
      as('image-developer'),
      'image.sources:create',
      ORG,
      true,
    ],
    [
      'an image-developer deletes a source',
      as('image-developer'),
      'image.sources:delete',
      'acc_image1',
      true,
    ],
    [
      'an image-developer gets nothing on a video account',
      as('image-developer'),
      'video.assets:read',
      'acc_video1',
      false,
    ],
    [
      'an image-analyst reads insights',
      as('image-analyst'),
      'image.insights:read',
      'acc_image1',
      true,
    ],
    [
      'an image-analyst cannot create sources',
      as('image-analyst'),
      'image.sources:create',
      ORG,
      false,
    ],
    [
      'an image-admin creates sources and reads usage',
      as('image-admin'),
      'image.usage:read',
      'acc_image1',
      true,
    ],
    ['an accountant views invoices', as('accountant'), 'billing:read', ORG, true],
    ['an accountant pays bills', as('accountant'), 'billing:pay', ORG, true],
    ['an accountant cannot change billing details', as('accountant'), 'billing:manage', ORG, false],
    ['an accountant sees no assets', as('accountant'), 'video.assets:read', 'acc_video1', false],
    [
      'an accountant cannot be granted on one account',
      as('accountant', 'acc_video1'),
      'billing:read',
      'acc_video1',
      false,
    ],
    ['an admin creates video assets', as('admin'), 'video.assets:create', 'acc_video1', true],
    ['an admin deletes image sources', as('admin'), 'image.sources:delete', 'acc_image1', true],
    ['an admin reads video insights', as('admin'), 'video.insights:read', 'acc_video1', true],
    ['an admin creates accounts (collections, sources)', as('admin'), 'accounts:create', ORG, true],
    ['an admin views invoices', as('admin'), 'billing:read', ORG, true],
    ['an admin pays bills', as('admin'), 'billing:pay', ORG, true],
    ['an admin cannot add users', as('admin'), 'members:invite', ORG, false],
    ['an admin cannot change members', as('admin'), 'members:update', ORG, false],
    ['an admin cannot manage billing details', as('admin'), 'billing:manage', ORG, false],
    ['an admin cannot see API keys', as('admin'), 'api_keys:read', ORG, false],
    ['an admin cannot create API keys', as('admin'), 'api_keys:manage', ORG, false],
    ['an admin cannot delete the organization', as('admin'), 'organization:delete', ORG, false],
    [
      'video-source-specific reads its collection',
      as('video-source-specific', 'acc_video1'),
      'video.assets:read',
      'acc_video1',
      true,
    ],
    [
      'video-source-specific reads its collection usage',
      as('video-source-specific', 'acc_video1'),
      'video.usage:read',
      'acc_video1',
      true,
    ],
    [
      'video-source-specific reads insights below its collection',
      as('video-source-specific', 'acc_video1'),
      'video.insights:read',
      'res_v1b',
      true,
    ],
    [
      'video-source-specific sees nothing of other collections',
      as('video-source-specific', 'acc_video1'),
      'video.assets:read',
      'acc_video2',
      false,
    ],
    [
      'video-source-specific does not create assets',
      as('video-source-specific', 'acc_video1'),
      'video.assets:create',
      'acc_video1',
      false,
    ],
    [
      'video-source-specific granted on one folder sees that folder',
      as('video-source-specific', 'res_v1a'),
      'video.assets:read',
      'res_v1a',
      true,
    ],
    [
      'video-source-specific granted on one folder not its sibling',
      as('video-source-specific', 'res_v1a'),
      'video.assets:read',
      'res_v1b',
      false,
    ],
    [
      'video-source-specific at organization scope grants nothing',
      as('video-source-specific'),
      'video.assets:read',
      'acc_video1',
      false,
    ],
    [
      'image-source-specific reads its source',
      as('image-source-specific', 'acc_image1'),
      'image.sources:read',
      'acc_image1',
      true,
    ],
    [
      'image-source-specific reads its insights',
      as('image-source-specific', 'acc_image1'),
      'image.insights:read',
      'acc_image1',
      true,
    ],
  ])('%s', (...story) => {
    expect(check('media', story).allowed).toBe(story[4]);
  });

  it('gives only the owner members:*, billing:manage and api_keys:*', () => {
    const ownerOnly = [
      'members:invite',
      'members:update',
      'members:remove',
      'billing:manage',
      'api_keys:read',
      'api_keys:manage',
    ];
    const roles = compileRoles(defaultCatalog, 'media');
    for (const role of roles.roles.values()) {
      if (role.key === 'owner') continue;
      for (const permission of ownerOnly)
        expect(role.permissions.has(permission), `${role.key} ${permission}`).toBe(false);
    }
  });

  it('gives the admin everything developers, analysts and accountant have', () => {
    const roles = compileRoles(defaultCatalog, 'media');
    const admin = roles.roles.get('admin')?.permissions ?? new Set();
    for (const key of [
      'video-admin',
      'video-developer',
      'video-analyst',
      'image-admin',
      'image-developer',
      'image-analyst',
      'accountant',
    ]) {
      for (const permission of roles.roles.get(key)?.permissions ?? []) {
        expect(admin.has(permission), `${key} ${permission}`).toBe(true);
      }
    }
  });
});

describe('accounts: per-account admin and viewer', () => {
  it.each<Story>([
    ['an admin of A invites to A', as('admin', 'acc_video1'), 'members:invite', 'acc_video1', true],
    [
      'an admin of A edits roles on A',
      as('admin', 'acc_video1'),
      'members:update',
      'acc_video1',
      true,
    ],
    [
      'an admin of A removes users from A',
      as('admin', 'acc_video1'),
      'members:remove',
      'acc_video1',
      true,
    ],
    [
      'an admin of A configures A',
      as('admin', 'acc_video1'),
      'accounts:update',
      'acc_video1',
      true,
    ],
    [
      'an admin of A uses the services of A',
      as('admin', 'acc_video1'),
      'video.assets:create',
      'res_v1a',
      true,
    ],
    [
      'an admin of A has nothing on account B',
      as('admin', 'acc_video1'),
      'accounts:read',
      'acc_video2',
      false,
    ],
    [
      'an admin of A cannot invite to account B',
      as('admin', 'acc_video1'),
      'members:invite',
      'acc_video2',
      false,
    ],
    [
      'an admin of A cannot invite organization-wide',
      as('admin', 'acc_video1'),
      'members:invite',
      ORG,
      false,
    ],
    [
      'an admin of A cannot delete A',
      as('admin', 'acc_video1'),
      'accounts:delete',
      'acc_video1',
      false,
    ],
    ['admin is not granted organization-wide', as('admin'), 'members:invite', 'acc_video1', false],
    ['a viewer of A reads A', as('viewer', 'acc_image1'), 'accounts:read', 'acc_image1', true],
    [
      'a viewer of A reads its services',
      as('viewer', 'acc_image1'),
      'image.insights:read',
      'res_i1a',
      true,
    ],
    [
      'a viewer of A changes nothing',
      as('viewer', 'acc_image1'),
      'image.sources:update',
      'acc_image1',
      false,
    ],
    [
      'a viewer of A invites nobody',
      as('viewer', 'acc_image1'),
      'members:invite',
      'acc_image1',
      false,
    ],
    [
      'a viewer of A reads nothing of B',
      as('viewer', 'acc_image1'),
      'accounts:read',
      'acc_video1',
      false,
    ],
    [
      'an account owner holds everything in their account',
      member([], { ownedAccountIds: ['acc_video1'] }),
      'accounts:delete',
      'acc_video1',
      true,
    ],
  ])('%s', (...story) => {
    expect(check('accounts', story).allowed).toBe(story[4]);
  });

  it.each<[string, Grant, boolean]>([
    ['an admin of A adds a viewer to A', { role: 'viewer', scope: 'acc_video1' }, true],
    ['an admin of A adds an admin to A', { role: 'admin', scope: 'acc_video1' }, true],
    [
      'an admin of A adds a viewer to one resource of A',
      { role: 'viewer', scope: 'res_v1a' },
      true,
    ],
    ['an admin of A cannot add anyone to B', { role: 'viewer', scope: 'acc_video2' }, false],
  ])('%s', (_story, grant, allowed) => {
    const roles = compileRoles(defaultCatalog, 'accounts');
    expect(canGrant(defaultCatalog, roles, as('admin', 'acc_video1'), [grant], resolve)).toBe(
      allowed,
    );
  });
});

describe('team: owner, admins and users', () => {
  it.each<Story>([
    [
      'the owner deletes the organization',
      member([], { isOrganizationOwner: true }),
      'organization:delete',
      ORG,
      true,
    ],
    ['an admin cannot delete the organization', as('admin'), 'organization:delete', ORG, false],
    ['an admin changes organization settings', as('admin'), 'organization:update', ORG, true],
    ['an admin manages users', as('admin'), 'members:update', ORG, true],
    ['an admin invites', as('admin'), 'members:invite', ORG, true],
    ['an admin manages data', as('admin'), 'resources:delete', 'res_m1a', true],
    ['an admin reads the audit log', as('admin'), 'audit:read', ORG, true],
    [
      'a user works on an assigned project',
      as('user', 'acc_meet1'),
      'meeting.rooms:create',
      'acc_meet1',
      true,
    ],
    [
      'a user works on the resources of the project',
      as('user', 'acc_meet1'),
      'resources:update',
      'res_m1a',
      true,
    ],
    [
      'a user has nothing on other projects',
      as('user', 'acc_meet1'),
      'accounts:read',
      'acc_video1',
      false,
    ],
    ['a user manages nobody', as('user', 'acc_meet1'), 'members:update', 'acc_meet1', false],
    [
      'a user cannot change organization settings',
      as('user', 'acc_meet1'),
      'organization:update',
      ORG,
      false,
    ],
  ])('%s', (...story) => {
    expect(check('team', story).allowed).toBe(story[4]);
  });

  it.each<[string, Grant, boolean]>([
    ['an admin can give a user a project', { role: 'user', scope: 'acc_video1' }, true],
    [
      'an admin cannot give anyone organization:delete',
      inline(['organization:delete'], ORG),
      false,
    ],
    ['an admin cannot make an owner', { role: 'owner', scope: ORG }, false],
  ])('%s', (_story, grant, allowed) => {
    const roles = compileRoles(defaultCatalog, 'team');
    expect(canGrant(defaultCatalog, roles, as('admin'), [grant], resolve)).toBe(allowed);
  });
});

describe('permissions: projects plus billing and API switches', () => {
  const withProject = member([
    { role: 'member', scope: ORG },
    { role: 'project', scope: 'acc_video1' },
  ]);
  it.each<Story>([
    ['a member sees the organization', as('member'), 'organization:read', ORG, true],
    [
      'a member without billing access sees no billing data',
      as('member'),
      'billing:read',
      ORG,
      false,
    ],
    ['a member without API access sees no API keys', as('member'), 'api_keys:read', ORG, false],
    ['a member works on a checked project', withProject, 'video.assets:create', 'acc_video1', true],
    [
      'a member has nothing on an unchecked project',
      withProject,
      'accounts:read',
      'acc_image1',
      false,
    ],
    ['billing access shows invoices', as('billing'), 'billing:read', ORG, true],
    ['billing access changes payment methods', as('billing'), 'billing:manage', ORG, true],
    ['API access creates keys', as('api-access'), 'api_keys:manage', ORG, true],
    ['API access is not billing access', as('api-access'), 'billing:read', ORG, false],
    ['an admin removes members', as('admin'), 'members:remove', ORG, true],
    ['an admin without the switch sees no billing', as('admin'), 'billing:read', ORG, false],
    ['an admin without the switch manages no API keys', as('admin'), 'api_keys:manage', ORG, false],
    ['an admin cannot delete the organization', as('admin'), 'organization:delete', ORG, false],
  ])('%s', (...story) => {
    expect(check('permissions', story).allowed).toBe(story[4]);
  });

  it('lets billing access give billing access, and an admin without it not', () => {
    const roles = compileRoles(defaultCatalog, 'permissions');
    const grant = [{ role: 'billing', scope: ORG }];
    expect(
      canGrant(defaultCatalog, roles, member([{ role: 'billing', scope: ORG }]), grant, resolve),
    ).toBe(true);
    expect(canGrant(defaultCatalog, roles, as('admin'), grant, resolve)).toBe(false);
  });
});

describe('reseller: owners, and permissions checked per association', () => {
  const customerOwner = member([], { isOrganizationOwner: true });
  const accountOwner = member([], { ownedAccountIds: new Set(['acc_meet1']) });
  const associated = member([
    { role: 'member', scope: ORG },
    inline(['accounts:read', 'billing:read'], ORG),
    inline(['meeting.rooms:update'], 'res_m1a'),
  ]);
  it.each<Story>([
    ['the customer owner holds everything', customerOwner, 'organization:delete', ORG, true],
    [
      'the customer owner holds everything in every account',
      customerOwner,
      'meeting.rooms:delete',
      'res_m1a',
      true,
    ],
    [
      'an account owner invites to their account',
      accountOwner,
      'members:invite',
      'acc_meet1',
      true,
    ],
    [
      'an account owner holds everything in their account',
      accountOwner,
      'meeting.rooms:delete',
      'res_m1a',
      true,
    ],
    ['an account owner holds nothing on the customer', accountOwner, 'members:invite', ORG, false],
    [
      'an account owner holds nothing on other accounts',
      accountOwner,
      'accounts:read',
      'acc_video1',
      false,
    ],
    ['a plain member sees the customer', as('member'), 'organization:read', ORG, true],
    ['a plain member sees no account', as('member'), 'accounts:read', 'acc_meet1', false],
    ['a customer association gives its checked permissions', associated, 'billing:read', ORG, true],
    [
      'a customer association reaches every account',
      associated,
      'accounts:read',
      'acc_video1',
      true,
    ],
    [
      'a room association gives its checked permissions there',
      associated,
      'meeting.rooms:update',
      'res_m1a',
      true,
    ],
    [
      'a room association gives nothing on the account',
      associated,
      'meeting.rooms:update',
      'acc_meet1',
      false,
    ],
    ['an unchecked permission is not held', associated, 'billing:pay', ORG, false],
  ])('%s', (...story) => {
    expect(check('reseller', story).allowed).toBe(story[4]);
  });
});

describe('invite policies', () => {
  it.each([
    [
      'media',
      {
        inviters: 'organization-owner',
        permission: null,
        defaultRole: null,
        ownerOnlyRoles: [],
        ownerMayOfferOwnership: false,
      },
    ],
    [
      'accounts',
      {
        inviters: 'permission',
        permission: 'members:invite',
        defaultRole: 'admin',
        ownerOnlyRoles: [],
        ownerMayOfferOwnership: false,
      },
    ],
    [
      'team',
      {
        inviters: 'permission',
        permission: 'members:invite',
        defaultRole: 'user',
        ownerOnlyRoles: ['admin'],
        ownerMayOfferOwnership: true,
      },
    ],
    [
      'permissions',
      {
        inviters: 'permission',
        permission: 'members:invite',
        defaultRole: 'member',
        ownerOnlyRoles: [],
        ownerMayOfferOwnership: false,
      },
    ],
    [
      'reseller',
      {
        inviters: 'owners',
        permission: null,
        defaultRole: null,
        ownerOnlyRoles: [],
        ownerMayOfferOwnership: false,
      },
    ],
  ])('%s: %o', (key, policy) => {
    expect(defaultCatalog.templates.get(key)?.invitePolicy).toMatchObject(policy);
  });

  // An invite policy naming a permission and a default role must be usable by someone other
  // than the owner: some role holding the permission can hand out the default role.
  it.each(
    BUILT_IN_TEMPLATES.filter((t) => t.invitePolicy.permission && t.invitePolicy.defaultRole).map(
      (t) => [t.key, t] as const,
    ),
  )('%s: an inviter other than the owner can give the default role', (_key, template) => {
    const { permission, defaultRole } = template.invitePolicy;
    const roles = compileRoles(defaultCatalog, template);
    const representative = { organization: ORG, account: 'acc_video1', resource: 'res_v1a' };
    const usable = [...roles.roles.values()].some(
      (role) =>
        role.permissions.has(permission as string) &&
        [...role.grantableAt].some((level) => {
          const inviter = member([{ role: role.key, scope: representative[level] }]);
          return SCOPES.some(
            (scope) =>
              isWithin(scope, representative[level]) &&
              canGrant(
                defaultCatalog,
                roles,
                inviter,
                [{ role: defaultRole as string, scope }],
                resolve,
              ),
          );
        }),
    );
    expect(usable).toBe(true);
  });
});
