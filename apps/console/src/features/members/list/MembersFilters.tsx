import { Group, Select, TextInput } from '@mantine/core';
import { LOGIN_METHODS } from './members.list';

export interface FilterChoices {
  roles: { value: string; label: string }[] | undefined;
  accounts: { value: string; label: string }[] | undefined;
}

export interface FilterValues {
  search: string;
  role: string | null;
  account: string | null;
  status: string | null;
  loginMethod: string | null;
}

/**
 * Search (as you type; the page debounces it), and the filters the members list answers: role,
 * account ("view users by account"), status, login method. A filter whose choices could not be
 * read (no right to list roles, say) is not offered.
 */
export function MembersFilters({
  values,
  choices,
  onChange,
  accountLabel,
}: {
  values: FilterValues;
  choices: FilterChoices;
  onChange: (patch: Partial<FilterValues>) => void;
  accountLabel: string;
}) {
  return (
    <Group gap="sm" align="flex-end" wrap="wrap">
      <TextInput
        label="Search"
        description="Name or email"
        placeholder="Type a name or email"
        value={values.search}
        onChange={(e) => onChange({ search: e.currentTarget.value })}
        w={{ base: '100%', sm: 260 }}
        type="search"
      />
      {choices.accounts ? (
        <Select
          label={accountLabel}
          description="View users by account"
          placeholder="All accounts"
          data={choices.accounts}
          value={values.account}
          onChange={(account) => onChange({ account })}
          clearable
          searchable
          nothingFoundMessage="No account by that name"
          w={{ base: '100%', sm: 220 }}
        />
      ) : null}
      {choices.roles ? (
        <Select
          label="Role"
          placeholder="Any role"
          data={choices.roles}
          value={values.role}
          onChange={(role) => onChange({ role })}
          clearable
          w={{ base: '100%', sm: 180 }}
        />
      ) : null}
      <Select
        label="Status"
        placeholder="Any status"
        data={[
          { value: 'active', label: 'Active' },
          { value: 'suspended', label: 'Suspended' },
        ]}
        value={values.status}
        onChange={(status) => onChange({ status })}
        clearable
        w={{ base: '100%', sm: 150 }}
      />
      <Select
        label="Login method"
        placeholder="Any method"
        data={LOGIN_METHODS}
        value={values.loginMethod}
        onChange={(loginMethod) => onChange({ loginMethod })}
        clearable
        w={{ base: '100%', sm: 160 }}
      />
    </Group>
  );
}
