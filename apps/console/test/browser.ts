import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createTestContext, type TestContext } from '../../server/test/harness';
import { startSmsReceiver, type TestSmsReceiver } from '../../server/test/sms-receiver';
import { startSmtpServer, type TestSmtpServer } from '../../server/test/smtp';

/**
 * The browser tests' world: a real Gatehouse server listening on 127.0.0.1 (SQLite, or
 * PostgreSQL under the postgres project) serving the built console, a real SMTP sink and SMS
 * receiver that the server delivers to, and Debian's Chromium driven by playwright-core.
 * One world per test file.
 */
export interface ConsoleWorld {
  url: string;
  ctx: TestContext;
  smtp: TestSmtpServer;
  sms: TestSmsReceiver;
  browser: Browser;
  /** a fresh browser profile (cookies) at a given viewport */
  newPage(options?: {
    width?: number;
    height?: number;
  }): Promise<{ page: Page; context: BrowserContext }>;
  close(): Promise<void>;
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startConsoleWorld(env: Record<string, string> = {}): Promise<ConsoleWorld> {
  const smtp = await startSmtpServer();
  const sms = await startSmsReceiver();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const ctx = await createTestContext({
    startWorker: true,
    env: {
      PUBLIC_URL: url,
      SMTP_URL: smtp.url,
      SMS_WEBHOOK_URL: sms.url,
      ...env,
    },
  });
  // The browser runs in real time: move the test clock along with it.
  const tick = setInterval(() => {
    const behind = Date.now() - ctx.clock.now();
    if (behind > 0) ctx.clock.advance(behind);
  }, 200);
  await ctx.gatehouse.app.listen({ host: '127.0.0.1', port });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  const contexts: BrowserContext[] = [];
  return {
    url,
    ctx,
    smtp,
    sms,
    browser,
    async newPage(options = {}) {
      const context = await browser.newContext({
        baseURL: url,
        viewport: { width: options.width ?? 1280, height: options.height ?? 860 },
        locale: 'en-GB',
        timezoneId: 'Europe/Berlin',
      });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      return { page, context };
    },
    async close() {
      clearInterval(tick);
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      await ctx.close();
      await smtp.close();
      await sms.close();
    },
  };
}

/** A text or password field by its label (Mantine marks the required asterisk aria-hidden). */
export const field = (page: Page, label: string) =>
  page.getByRole('textbox', { name: label, exact: true });

/** The newest mail to an address, once it has arrived. */
export async function mailTo(smtp: TestSmtpServer, to: string, match?: RegExp, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = [...smtp.messages]
      .reverse()
      .find((m) => m.to.includes(to) && (!match || match.test(m.subject + m.text)));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seen = smtp.messages.filter((m) => m.to.includes(to)).map((m) => m.subject);
  throw new Error(
    `no mail to ${to}${match ? ` matching ${match}` : ''} within ${timeoutMs} ms (received for it: ${JSON.stringify(seen)})`,
  );
}

export const codeIn = (text: string) => {
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  if (!code) throw new Error(`no 6-digit code in: ${text.slice(0, 200)}`);
  return code;
};

/**
 * Screenshots are taken on every run (a broken page fails to render them); they are written to
 * docs/screenshots only with UPDATE_SCREENSHOTS=1, so `npm test` leaves the work tree clean.
 */
const SHOTS_DIR = process.env.UPDATE_SCREENSHOTS
  ? path.resolve(import.meta.dirname, '../../../docs/screenshots')
  : fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-shots-'));

export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}) {
  fs.mkdirSync(SHOTS_DIR, { recursive: true });
  // The viewport, as a person sees it (a full-page capture draws the console's fixed header and
  // dialogs' overlays in the middle of the picture); scroll to what matters first.
  await page.screenshot({
    path: path.join(SHOTS_DIR, `${name}.png`),
    fullPage: options.fullPage ?? false,
  });
}

const axeSource = fs.readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/**
 * axe-core's WCAG 2.x A/AA rules on the page as it is now; answers the serious and critical
 * violations (none expected). axe-core is injected directly rather than through
 * @axe-core/playwright, whose package declares Node >= 22.12 while Gatehouse supports 20.19.
 */
export async function seriousA11yViolations(page: Page) {
  // Evaluated through the DevTools protocol, not a <script> tag: the console's CSP (no inline
  // scripts) stays on while the page is tested.
  await page.evaluate(axeSource);
  const result = (await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected into the page at run time
    const page = globalThis as any;
    return page.axe.run(page.document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
  })) as {
    violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    );
}

/**
 * Issue 10 #6: no form may ever submit a password by GET (a form whose script failed falls back
 * to its method, and GET would put the password in the URL, the history and the server's logs).
 * Every form on the page that holds a password field must say method="post".
 */
export async function formsWithPasswordByGet(page: Page): Promise<number> {
  return page
    .locator('form:has(input[type="password"])')
    .evaluateAll(
      (forms) =>
        forms.filter((f) => (f.getAttribute('method') ?? 'get').toLowerCase() !== 'post').length,
    );
}
