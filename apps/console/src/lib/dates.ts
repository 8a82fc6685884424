/**
 * Dates and times in the signed-in user's time zone (seed 003: the time zone "affects how dates
 * and times are displayed"); the browser's zone until the profile is known.
 */
let userTimeZone: string | undefined;

export function setUserTimeZone(zone: string | null | undefined) {
  userTimeZone = zone ?? undefined;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  try {
    return new Intl.DateTimeFormat(undefined, {
      dateStyle: 'medium',
      timeStyle: 'short',
      ...(userTimeZone ? { timeZone: userTimeZone } : {}),
    }).format(date);
  } catch {
    return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(
      date,
    );
  }
}
