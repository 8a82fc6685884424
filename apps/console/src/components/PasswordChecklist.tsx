import { failedPasswordShapeRules, PASSWORD_RULES } from '@gatehouse/contracts';
import { List, Text, ThemeIcon } from '@mantine/core';
import { passwordRuleLabels } from '../lib/problems';

/**
 * The password policy's rules, each ticking as it is met while the user types. The shape rules
 * come from @gatehouse/contracts, the same function the server runs; "not a common password"
 * needs the server's list, so it is judged on submit (and ticks once the server accepted).
 */
export function PasswordChecklist({
  password,
  email,
  serverFailed,
}: {
  password: string;
  email?: string | null;
  serverFailed?: string[];
}) {
  const failed = new Set<string>(failedPasswordShapeRules(password, email || null));
  for (const rule of serverFailed ?? []) failed.add(rule);
  return (
    <List spacing={2} size="sm" aria-label="Password rules" listStyleType="none">
      {PASSWORD_RULES.filter((rule) => rule !== 'not_email' || email).map((rule) => {
        const pending = rule === 'not_common' && !serverFailed?.includes(rule);
        const met = !failed.has(rule) && password.length > 0 && !pending;
        return (
          <List.Item
            key={rule}
            icon={
              <ThemeIcon
                size={16}
                radius="xl"
                color={met ? 'teal' : pending ? 'gray' : 'gray'}
                variant={met ? 'filled' : 'light'}
                aria-hidden
              >
                <Text size="xs" lh={1}>
                  {met ? '✓' : '•'}
                </Text>
              </ThemeIcon>
            }
          >
            <Text size="sm" c={met ? 'teal.9' : 'dimmed'}>
              {passwordRuleLabels[rule]}
              {pending ? ' (checked when you submit)' : ''}
              <span className="visually-hidden">{met ? ' — met' : ' — not met yet'}</span>
            </Text>
          </List.Item>
        );
      })}
    </List>
  );
}
