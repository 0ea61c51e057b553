// Shared pieces of the console's browser tests: the browser, a page that records every error,
// signing in through the form, and polling.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const env = process.env;
export const ARTIFACT_DIR = env.ARTIFACT_DIR || 'artifacts';
const CHROMIUM = env.CHROMIUM || '/usr/bin/chromium';

export function requireEnv(names) {
  for (const k of names) {
    assert.ok(env[k], `${k} is not set: run this through \`cargo test --test api console::\``);
  }
  mkdirSync(ARTIFACT_DIR, { recursive: true });
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export async function poll(what, fn, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A page in its own context whose console errors, page errors and failed requests are kept,
// except the 401s of the session probe before sign-in and the statuses listed in `allowed`
// (e.g. `POST /api/v1/conversations/ID/assign -> 409` when a refusal is the point).
export async function watchedPage(browser, locale, allowed = [], timezoneId = 'UTC') {
  const context = await browser.newContext({ locale, timezoneId, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  const isProbe = (url) => new URL(url).pathname === '/api/v1/auth/me';
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = m.location().url || '';
    if (/\b(401|409)\b/.test(m.text())) return; // answered statuses are checked below
    // Chromium reports each event it may not hand to an email frame's (absent) scripts, e.g.
    // a click that unfolds its quoted text: the sandbox at work, not a fault.
    if (url === 'about:srcdoc' && m.text().startsWith('Blocked script execution')) return;
    problems.push(`console: ${m.text()} ${url}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const line = `${r.request().method()} ${new URL(r.url()).pathname} -> ${r.status()}`;
    if (r.status() === 401 && isProbe(r.url())) return;
    if (allowed.includes(line)) return;
    problems.push(line);
  });
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText === 'net::ERR_ABORTED') return; // navigations away, closed sockets
    problems.push(`${r.method()} ${r.url()} failed: ${r.failure()?.errorText}`);
  });
  return { page, problems };
}

export async function signIn(page, email, password) {
  await page.goto(env.APP_URL + '/console/');
  await page.getByTestId('login-form').waitFor();
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  const login = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'));
  await page.getByTestId('login-submit').click();
  assert.equal((await login).status(), 200);
  await page.getByTestId('me-name').waitFor();
  await page.locator('[data-testid="live-indicator"].on').waitFor({ timeout: 10000 });
}

// Open a view from the top bar: its tab is on the bar, or under "More" when the bar is too
// narrow for every view.
export async function openView(page, view) {
  if ((await page.locator('#topbar .views').getByTestId(`view-${view}`).count()) === 0) {
    await page.getByTestId('views-more').click();
  }
  await page.getByTestId(`view-${view}`).click();
}

export function row(page, id) {
  return page.locator(`[data-testid="conversation-row"][data-id="${id}"]`);
}

export async function openFromTab(page, tab, id) {
  await page.getByTestId(`tab-${tab}`).click();
  await row(page, id).click();
  await page.locator(`#convpane [data-testid="messages"]`).waitFor();
}

// naturalWidth of an <img> once it has loaded (0 while broken or loading).
export async function loadedWidth(img) {
  return img.evaluate((el) => (el.complete ? el.naturalWidth : 0));
}

// With README_SHOTS set (`SWITCHBOARD_README_SHOTS=1 cargo test --test api console::`), the
// README's screenshots are refreshed from the same scenes into docs/screenshots.
export async function readmeShot(page, name) {
  if (!env.README_SHOTS) return;
  mkdirSync(env.README_SHOTS, { recursive: true });
  await page.screenshot({ path: `${env.README_SHOTS}/${name}` });
}

// The top bar is one row (a wrapped bar pushed every pane down by a second row of controls),
// and every control in it shows on screen.
export async function assertTopbarOneRow(page, who) {
  const bar = await page.locator('#topbar').boundingBox();
  const presence = await page.getByTestId('presence-select').boundingBox();
  assert.ok(bar.height < 52, `${who}: the top bar is one row, not ${bar.height}px high`);
  const logout = await page.getByTestId('logout').boundingBox();
  const width = page.viewportSize().width;
  for (const [name, box] of [['presence', presence], ['sign out', logout]]) {
    assert.ok(box.x >= 0 && box.x + box.width <= width, `${who}: ${name} is on screen`);
  }
}
