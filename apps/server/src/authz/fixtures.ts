/**
 * Test fixtures for the authz tests (imported only by `*.test.ts`): one organization with
 * accounts of every product (and one of a product the catalog does not know), resources
 * inside them, and a second organization to prove isolation.
 */
import type { Grant, Principal, ScopeChain } from './evaluate';

export const ORG = 'org_1';
export const OTHER_ORG = 'org_2';

interface AccountFixture {
  readonly id: string;
  readonly organizationId: string;
  readonly product: string;
  readonly resources: readonly string[];
}

export const ACCOUNTS: readonly AccountFixture[] = [
  { id: 'acc_video1', organizationId: ORG, product: 'video', resources: ['res_v1a', 'res_v1b'] },
  { id: 'acc_video2', organizationId: ORG, product: 'video', resources: ['res_v2a'] },
  { id: 'acc_image1', organizationId: ORG, product: 'image', resources: ['res_i1a'] },
  { id: 'acc_meet1', organizationId: ORG, product: 'meeting', resources: ['res_m1a'] },
  // A product registered by nobody: product-restricted roles must give nothing here.
  { id: 'acc_audio1', organizationId: ORG, product: 'audio', resources: [] },
  { id: 'acc_other', organizationId: OTHER_ORG, product: 'video', resources: ['res_o1'] },
];

const chains = new Map<string, ScopeChain>();
chains.set(ORG, { organizationId: ORG });
chains.set(OTHER_ORG, { organizationId: OTHER_ORG });
for (const a of ACCOUNTS) {
  const account = { organizationId: a.organizationId, accountId: a.id, accountProduct: a.product };
  chains.set(a.id, account);
  for (const r of a.resources) chains.set(r, { ...account, resourceId: r });
}

/** Every scope id of organization `org_1`, top-down. */
export const SCOPES: readonly string[] = [...chains.entries()]
  .filter(([, c]) => c.organizationId === ORG)
  .map(([id]) => id);

/** The resolved chain of a scope id of the fixture (throws on a typo in a test table). */
export function chain(scope: string): ScopeChain {
  const found = chains.get(scope);
  if (!found) throw new Error(`no fixture scope ${scope}`);
  return found;
}

/** A resolver as the services will provide: `undefined` for unknown ids. */
export const resolve = (scope: string): ScopeChain | undefined => chains.get(scope);

/** Whether `descendant` is `ancestor` or lies below it. */
export function isWithin(descendant: string, ancestor: string): boolean {
  const c = chain(descendant);
  return c.organizationId === ancestor || c.accountId === ancestor || c.resourceId === ancestor;
}

/** An active member of `org_1` holding `grants`. */
export function member(grants: Grant[] = [], overrides: Partial<Principal> = {}): Principal {
  return {
    organizationId: ORG,
    userStatus: 'active',
    membershipStatus: 'active',
    isOrganizationOwner: false,
    ownedAccountIds: [],
    grants,
    ...overrides,
  };
}
