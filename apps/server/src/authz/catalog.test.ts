import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CatalogError,
  createCatalog,
  defaultCatalog,
  expandPatterns,
  isKnownPermission,
  patternMatches,
  validatePatterns,
  validateRoleDefinition,
} from './catalog';
import type { CatalogExtension, RoleDefinition } from './types';

const SPEC_PERMISSIONS = [
  'organization:read',
  'organization:update',
  'organization:delete',
  'members:read',
  'members:invite',
  'members:update',
  'members:remove',
  'roles:read',
  'roles:manage',
  'accounts:read',
  'accounts:create',
  'accounts:update',
  'accounts:delete',
  'resources:read',
  'resources:create',
  'resources:update',
  'resources:delete',
  'billing:read',
  'billing:pay',
  'billing:manage',
  'api_keys:read',
  'api_keys:manage',
  'audit:read',
  'video.assets:read',
  'video.assets:create',
  'video.assets:delete',
  'video.profiles:read',
  'video.profiles:create',
  'video.profiles:delete',
  'video.usage:read',
  'video.insights:read',
  'image.sources:read',
  'image.sources:create',
  'image.sources:update',
  'image.sources:delete',
  'image.usage:read',
  'image.insights:read',
  'meeting.rooms:read',
  'meeting.rooms:create',
  'meeting.rooms:update',
  'meeting.rooms:delete',
];

const audio: CatalogExtension = {
  products: [{ key: 'audio', name: 'Audio', description: 'Podcasts and music streaming.' }],
  permissions: [
    { name: 'audio.tracks:read', description: 'List tracks.' },
    { name: 'audio.tracks:publish', description: 'Publish tracks.' },
    { name: 'webhooks:manage', description: 'Manage webhook endpoints.' },
  ],
};

const sortedExpansion = (patterns: string[], product?: string) =>
  [...expandPatterns(defaultCatalog, patterns, product)].sort();

describe('the default catalog', () => {
  it('holds exactly the permissions named by the specification', () => {
    expect([...defaultCatalog.all].sort()).toEqual([...SPEC_PERMISSIONS].sort());
  });

  it.each(SPEC_PERMISSIONS)('describes %s in one line', (name) => {
    const def = defaultCatalog.permissions.get(name);
    expect(def?.description).toMatch(/^\S.*\S$/);
    expect(def?.description).not.toContain('\n');
  });

  it.each([
    ['video', 'video.'],
    ['image', 'image.'],
    ['meeting', 'meeting.'],
  ])('registers product %s owning the prefix %s', (key, prefix) => {
    expect(defaultCatalog.products.get(key)?.prefix).toBe(prefix);
  });

  it.each([
    ['members:invite', { area: 'members', action: 'invite', product: null }],
    ['video.assets:create', { area: 'video.assets', action: 'create', product: 'video' }],
    ['image.usage:read', { area: 'image.usage', action: 'read', product: 'image' }],
  ])('splits %s into area, action and product', (name, parts) => {
    expect(defaultCatalog.permissions.get(name)).toMatchObject(parts);
  });

  it('ships the five templates', () => {
    expect([...defaultCatalog.templates.keys()]).toEqual([
      'media',
      'accounts',
      'team',
      'permissions',
      'reseller',
    ]);
  });

  it('is frozen: a template cannot be changed at run time', () => {
    const media = defaultCatalog.templates.get('media');
    expect(Object.isFrozen(media)).toBe(true);
    expect(Object.isFrozen(media?.roles[1]?.permissions)).toBe(true);
  });
});

describe('isKnownPermission', () => {
  it.each([
    ['members:invite', true],
    ['video.assets:create', true],
    ['video.assets:update', false],
    ['members:*', false],
    ['*', false],
    ['', false],
    [42, false],
    [undefined, false],
  ])('%j → %s', (name, known) => {
    expect(isKnownPermission(defaultCatalog, name)).toBe(known);
  });
});

describe('expandPatterns', () => {
  it.each<[string, string[], string | undefined, string[]]>([
    ['an exact name', ['billing:pay'], undefined, ['billing:pay']],
    [
      'an area wildcard',
      ['members:*'],
      undefined,
      ['members:invite', 'members:read', 'members:remove', 'members:update'],
    ],
    [
      'a product area wildcard',
      ['video.assets:*'],
      undefined,
      ['video.assets:create', 'video.assets:delete', 'video.assets:read'],
    ],
    [
      'a product wildcard',
      ['image.*'],
      undefined,
      [
        'image.insights:read',
        'image.sources:create',
        'image.sources:delete',
        'image.sources:read',
        'image.sources:update',
        'image.usage:read',
      ],
    ],
    ['an action wildcard on a product', ['*:pay'], undefined, ['billing:pay']],
    [
      'several patterns, overlapping',
      ['billing:*', 'billing:read'],
      undefined,
      ['billing:manage', 'billing:pay', 'billing:read'],
    ],
    ['a malformed pattern, to nothing', ['members'], undefined, []],
    ['an unknown product, to nothing', ['audio.*'], undefined, []],
    ['a product restriction removing another product', ['image.*'], 'video', []],
    [
      'a product restriction keeping core permissions',
      ['accounts:read', 'video.usage:read', 'image.usage:read'],
      'video',
      ['accounts:read', 'video.usage:read'],
    ],
  ])('expands %s', (_label, patterns, product, expected) => {
    expect(sortedExpansion(patterns, product)).toEqual([...expected].sort());
  });

  it('expands * to every permission', () => {
    expect(expandPatterns(defaultCatalog, ['*']).size).toBe(SPEC_PERMISSIONS.length);
  });

  it('expands *:read to every read and nothing else', () => {
    const reads = SPEC_PERMISSIONS.filter((p) => p.endsWith(':read'));
    expect(sortedExpansion(['*:read'])).toEqual([...reads].sort());
  });

  it('restricts * to core and the product when a product is given', () => {
    const expanded = expandPatterns(defaultCatalog, ['*'], 'video');
    expect(expanded.has('members:invite')).toBe(true);
    expect(expanded.has('video.profiles:create')).toBe(true);
    expect(expanded.has('image.sources:read')).toBe(false);
    expect(expanded.has('meeting.rooms:read')).toBe(false);
  });
});

describe('validatePatterns', () => {
  it('accepts every form of pattern', () => {
    expect(
      validatePatterns(defaultCatalog, [
        '*',
        'video.*',
        '*:read',
        'members:*',
        'video.assets:*',
        'audit:read',
      ]),
    ).toEqual([]);
  });

  it.each<[unknown, string]>([
    ['video.assets:publish', 'unknown_permission'],
    ['members:approve', 'unknown_permission'],
    ['audio.*', 'unknown_product'],
    ['*:raed', 'matches_nothing'],
    ['widgets:*', 'matches_nothing'],
    ['members', 'malformed'],
    ['Members:read', 'malformed'],
    ['members:read ', 'malformed'],
    ['*:*', 'malformed'],
    ['video.*:read', 'malformed'],
    ['**', 'malformed'],
    ['', 'malformed'],
    [42, 'malformed'],
    [null, 'malformed'],
  ])('reports %j as %s', (pattern, reason) => {
    const issues = validatePatterns(defaultCatalog, [pattern]);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.reason).toBe(reason);
  });

  it('lists only the offending entries, in order', () => {
    const issues = validatePatterns(defaultCatalog, ['members:read', 'nope', 'billing:pay', 'x:y']);
    expect(issues.map((i) => i.pattern)).toEqual(['nope', 'x:y']);
  });
});

describe('patternMatches', () => {
  const patterns = [
    '*',
    '*:read',
    '*:create',
    '*:pay',
    'members:*',
    'video.assets:*',
    'video.*',
    'image.*',
    'meeting.*',
    'billing:read',
    'video.usage:read',
    'members',
    '*:*',
    'video.',
    'video.*:read',
    ':*',
    '*:',
  ];

  it('agrees with expandPatterns for every permission (property)', () => {
    const defs = [...defaultCatalog.permissions.values()];
    fc.assert(
      fc.property(fc.constantFrom(...patterns), fc.constantFrom(...defs), (pattern, def) => {
        const expanded = expandPatterns(defaultCatalog, [pattern]);
        expect(patternMatches(def, pattern)).toBe(expanded.has(def.name));
      }),
    );
  });

  it('never matches a malformed pattern (property)', () => {
    const defs = [...defaultCatalog.permissions.values()];
    fc.assert(
      fc.property(fc.string({ maxLength: 24 }), fc.constantFrom(...defs), (pattern, def) => {
        fc.pre(validatePatterns(defaultCatalog, [pattern]).some((i) => i.reason === 'malformed'));
        expect(patternMatches(def, pattern)).toBe(false);
      }),
    );
  });
});

describe('createCatalog with an extension', () => {
  it('registers a product and its permissions', () => {
    const catalog = createCatalog(audio);
    expect(catalog.products.get('audio')?.prefix).toBe('audio.');
    expect(isKnownPermission(catalog, 'audio.tracks:publish')).toBe(true);
    expect([...expandPatterns(catalog, ['audio.*'])].sort()).toEqual([
      'audio.tracks:publish',
      'audio.tracks:read',
    ]);
  });

  it('registers a core permission, which * and area wildcards then cover', () => {
    const catalog = createCatalog(audio);
    expect(expandPatterns(catalog, ['*']).has('webhooks:manage')).toBe(true);
    expect(expandPatterns(catalog, ['webhooks:*']).has('webhooks:manage')).toBe(true);
  });

  it('accepts a JSON document', () => {
    const catalog = createCatalog(JSON.parse(JSON.stringify(audio)));
    expect(isKnownPermission(catalog, 'audio.tracks:read')).toBe(true);
  });

  it('does not change the default catalog', () => {
    createCatalog(audio);
    expect(isKnownPermission(defaultCatalog, 'audio.tracks:read')).toBe(false);
  });

  it('adds a role to an existing template', () => {
    const catalog = createCatalog({
      ...audio,
      roles: {
        media: [
          {
            key: 'audio-admin',
            name: 'Audio admin',
            description: 'Everything audio.',
            permissions: ['organization:read', 'audio.*'],
            product: 'audio',
            grantableAt: ['organization', 'account'],
          },
        ],
      },
    });
    expect(catalog.templates.get('media')?.roles.map((r) => r.key)).toContain('audio-admin');
  });

  it('adds patterns to an existing built-in role', () => {
    const catalog = createCatalog({ ...audio, rolePermissions: { team: { admin: ['audio.*'] } } });
    const admin = catalog.templates.get('team')?.roles.find((r) => r.key === 'admin');
    expect(admin?.permissions).toContain('audio.*');
    expect(admin?.permissions).toContain('members:*');
  });

  it('adds a whole template', () => {
    const catalog = createCatalog({
      templates: [
        {
          key: 'solo',
          name: 'Solo',
          description: 'One person.',
          roles: [
            {
              key: 'owner',
              name: 'Owner',
              description: '',
              permissions: ['*'],
              product: null,
              grantableAt: [],
            },
            {
              key: 'helper',
              name: 'Helper',
              description: '',
              permissions: ['*:read'],
              product: null,
              grantableAt: ['organization'],
            },
          ],
          invitePolicy: {
            inviters: 'organization-owner',
            permission: null,
            defaultRole: 'helper',
            ownerOnlyRoles: [],
            ownerMayOfferOwnership: false,
            summary: 'Only the owner invites.',
          },
        },
      ],
    });
    expect(catalog.templates.get('solo')?.roles).toHaveLength(2);
  });

  const role = (over: Partial<RoleDefinition>): RoleDefinition => ({
    key: 'x',
    name: 'X',
    description: '',
    permissions: ['members:read'],
    product: null,
    grantableAt: ['organization'],
    ...over,
  });

  it.each<[string, unknown, RegExp]>([
    [
      'a product key in upper case',
      { products: [{ key: 'Audio', description: 'd' }] },
      /key "Audio"/,
    ],
    [
      'a product registered twice',
      { products: [{ key: 'video', description: 'd' }] },
      /"video" already exists/,
    ],
    [
      'a malformed permission name',
      { permissions: [{ name: 'members:Read', description: 'd' }] },
      /must match/,
    ],
    [
      'a three-part permission name',
      { permissions: [{ name: 'a.b.c:read', description: 'd' }] },
      /must match/,
    ],
    [
      'a permission of an unregistered product',
      { permissions: [{ name: 'podcast.episodes:read', description: 'd' }] },
      /unregistered product "podcast"/,
    ],
    [
      'a permission registered twice',
      { permissions: [{ name: 'members:read', description: 'd' }] },
      /already exists/,
    ],
    [
      'a permission without description',
      { permissions: [{ name: 'webhooks:read' }] },
      /description/,
    ],
    ['an unknown field', { permisions: [] }, /unknown extension field "permisions"/],
    [
      'a non-array list',
      { permissions: { name: 'webhooks:read' } },
      /permissions must be an array/,
    ],
    [
      'a role with an unknown permission',
      { roles: { media: [role({ permissions: ['members:approve'] })] } },
      /unknown permission "members:approve"/,
    ],
    [
      'a role shadowing a built-in role',
      { roles: { media: [role({ key: 'admin' })] } },
      /already used/,
    ],
    [
      'a role for an unknown template',
      { roles: { nope: [role({})] } },
      /roles\.nope: unknown template/,
    ],
    ['a role named owner', { roles: { team: [role({ key: 'owner' })] } }, /reserved/],
    [
      'a role with an unknown product',
      { roles: { team: [role({ product: 'audio' })] } },
      /not a registered product/,
    ],
    [
      'a video role listing image permissions',
      { roles: { team: [role({ product: 'video', permissions: ['image.*'] })] } },
      /gives nothing/,
    ],
    [
      'a role grantable nowhere',
      { roles: { team: [role({ grantableAt: [] })] } },
      /at least one level/,
    ],
    [
      'a role grantable at an unknown level',
      { roles: { team: [role({ grantableAt: ['folder' as never] })] } },
      /unknown level "folder"/,
    ],
    [
      'extra patterns for an unknown role',
      { rolePermissions: { team: { boss: ['*'] } } },
      /unknown role/,
    ],
    [
      'extra patterns for the owner',
      { rolePermissions: { team: { owner: ['members:read'] } } },
      /owner already holds everything/,
    ],
    [
      'a template without owner',
      { templates: [{ key: 't', name: 'T', description: '', roles: [], invitePolicy: {} }] },
      /must include "owner"/,
    ],
    [
      'a template with a bad invite policy',
      {
        templates: [
          {
            key: 't',
            name: 'T',
            description: '',
            roles: [
              {
                key: 'owner',
                name: 'Owner',
                description: '',
                permissions: ['*'],
                product: null,
                grantableAt: [],
              },
            ],
            invitePolicy: { inviters: 'anyone' },
          },
        ],
      },
      /invitePolicy.inviters/,
    ],
    [
      'a template key taken',
      { templates: [{ ...defaultCatalog.templates.get('team') }] },
      /template "team" already exists/,
    ],
    [
      'an owner that is grantable',
      {
        templates: [
          {
            key: 't',
            name: 'T',
            description: '',
            roles: [
              {
                key: 'owner',
                name: 'Owner',
                description: '',
                permissions: ['*'],
                product: null,
                grantableAt: ['organization'],
              },
            ],
            invitePolicy: {},
          },
        ],
      },
      /never granted/,
    ],
    ['not an object', [1, 2], /must be an object/],
  ])('rejects %s', (_label, extension, message) => {
    expect(() => createCatalog(extension as CatalogExtension)).toThrow(CatalogError);
    expect(() => createCatalog(extension as CatalogExtension)).toThrow(message);
  });

  it('reports every problem at once', () => {
    try {
      createCatalog({
        products: [{ key: 'Bad', description: 'd' }],
        permissions: [{ name: 'nope', description: 'd' }],
      });
      expect.unreachable();
    } catch (error) {
      expect((error as CatalogError).issues).toHaveLength(2);
    }
  });
});

describe('validateRoleDefinition (custom roles)', () => {
  const marketing: RoleDefinition = {
    key: 'marketing-manager',
    name: 'Marketing manager',
    description: 'Reads insights.',
    permissions: ['video.insights:read', 'image.insights:read', 'organization:read'],
    product: null,
    grantableAt: ['organization', 'account'],
  };

  it('accepts a valid custom role', () => {
    expect(validateRoleDefinition(defaultCatalog, marketing)).toEqual([]);
  });

  it.each<[string, Partial<RoleDefinition> | null, RegExp]>([
    ['a key with spaces', { key: 'Marketing manager' }, /key/],
    ['a taken key', { key: 'admin' }, /already used/],
    ['the owner key', { key: 'owner' }, /reserved/],
    ['an empty name', { name: ' ' }, /name/],
    ['no permissions', { permissions: [] }, /non-empty/],
    ['a malformed pattern', { permissions: ['insights'] }, /is not a pattern/],
    ['no level', { grantableAt: [] }, /at least one level/],
    ['a duplicate level', { grantableAt: ['account', 'account'] }, /duplicate level/],
    ['not an object', null, /must be an object/],
  ])('refuses %s', (_label, change, message) => {
    const role = change === null ? null : { ...marketing, ...change };
    const issues = validateRoleDefinition(defaultCatalog, role, { takenKeys: ['admin', 'viewer'] });
    expect(issues.join('\n')).toMatch(message);
  });
});
