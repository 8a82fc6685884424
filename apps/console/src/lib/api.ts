import { createGatehouseClient } from '@gatehouse/sdk/browser';

/** The readable half of the cookie session: the server sets it beside the httpOnly one. */
export const CSRF_COOKIE = 'gatehouse_csrf';

function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/**
 * The console's one client. It holds no tokens: the browser sends the httpOnly session cookie
 * (same origin), and state-changing calls echo the CSRF cookie as X-CSRF-Token.
 */
export const api = createGatehouseClient({
  baseUrl: window.location.origin,
  credentials: 'same-origin',
  csrfToken: () => readCookie(CSRF_COOKIE),
  timeoutMs: 20_000,
});

export type Api = typeof api;
