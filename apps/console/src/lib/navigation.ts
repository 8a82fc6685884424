/**
 * Where to go after signing in. Only a path on this origin is followed ("/x", never "//host" or
 * "https://…"): a crafted link cannot send a freshly signed-in user to another site.
 */
export function safeRedirect(target: unknown, fallback = '/'): string {
  if (typeof target !== 'string') return fallback;
  if (!target.startsWith('/') || target.startsWith('//') || target.startsWith('/\\'))
    return fallback;
  return target;
}
