// The agent console in a real browser: an agent signs in through the form, goes available,
// reads an English conversation (left-to-right) and a Persian one (right-to-left, customer
// name in the side panel), replies with Ctrl+Enter, adds an internal note and resolves it.
//
// Started by the Rust test `console::browser::console_round_trip_in_a_real_browser`, which
// runs the server, creates the agent and both conversations, passes their ids and texts in
// the environment, and afterwards checks through the API what this script stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = process.env;
const ARTIFACT_DIR = env.ARTIFACT_DIR || 'artifacts';
const CHROMIUM = env.CHROMIUM || '/usr/bin/chromium';
const REQUIRED = [
  'APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'AGENT_NAME',
  'FA_CONVERSATION_ID', 'FA_BODY', 'FA_SUBJECT', 'CUSTOMER_NAME', 'CUSTOMER_EMAIL',
  'EN_CONVERSATION_ID', 'EN_BODY', 'REPLY', 'NOTE',
];

// The only error allowed is the 401 of the session probe (`GET /api/v1/auth/me`) before the
// agent has signed in: once in the console log, once as a response. Counted, not timed.
const isProbe401 = (status, url) => status === 401 && new URL(url).pathname === '/api/v1/auth/me';

async function poll(what, fn, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('an agent signs in, reads Persian right-to-left, replies, adds a note and resolves', async () => {
  for (const k of REQUIRED) {
    assert.ok(env[k], `${k} is not set: run this through \`cargo test --test api console::browser\``);
  }
  mkdirSync(ARTIFACT_DIR, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const page = await browser.newPage({ locale: 'fa-IR', viewport: { width: 1400, height: 900 } });
  let probeLogged = 0;
  let probeAnswered = 0;
  const errors = [];
  const badResponses = [];
  page.on('console', (m) => {
    const entry = { type: m.type(), text: m.text(), url: m.location().url || '' };
    console.log(`[page ${entry.type}] ${entry.text} ${entry.url}`);
    if (entry.type !== 'error') return;
    if (/\b401\b/.test(entry.text) && entry.url && isProbe401(401, entry.url) && probeLogged++ === 0) return;
    errors.push(entry);
  });
  page.on('pageerror', (e) => errors.push({ type: 'pageerror', text: e.message, url: '' }));
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    if (isProbe401(r.status(), r.url()) && probeAnswered++ === 0) return;
    if (r.status() >= 400) {
      badResponses.push(`${r.request().method()} ${path} -> ${r.status()}`);
    }
  });
  page.on('requestfailed', (r) => badResponses.push(`${r.method()} ${r.url()} failed: ${r.failure()?.errorText}`));
  try {
    // Login through the form; the session probe answered 401 first.
    const probe = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/me'));
    await page.goto(env.APP_URL + '/console/');
    assert.equal((await probe).status(), 401);
    await page.getByTestId('login-form').waitFor();
    assert.equal(await page.locator('html').getAttribute('dir'), 'rtl', 'a fa-IR browser gets the Persian console');
    await page.getByTestId('login-email').fill(env.AGENT_EMAIL);
    await page.getByTestId('login-password').fill(env.AGENT_PASSWORD);
    const login = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'));
    await page.getByTestId('login-submit').click();
    assert.equal((await login).status(), 200);
    await page.getByTestId('me-name').waitFor();
    assert.equal(await page.getByTestId('me-name').innerText(), env.AGENT_NAME);
    const cookies = await page.context().cookies();
    assert.ok(cookies.some((c) => c.name === 'sb_session' && c.httpOnly), 'HttpOnly session cookie');
    await page.locator('[data-testid="live-indicator"].on').waitFor({ timeout: 10000 });

    // Available: the select follows the server's answer.
    const presence = page.waitForResponse((r) => r.url().endsWith('/api/v1/agents/me/presence'));
    await page.getByTestId('presence-select').selectOption('available');
    assert.equal((await presence).status(), 200);
    await page.locator('[data-testid="presence-select"].presence-available').waitFor();

    // Both conversations are open and unassigned: the "All open" tab lists them.
    await page.getByTestId('tab-open').click();
    const faRow = page.locator(`[data-testid="conversation-row"][data-id="${env.FA_CONVERSATION_ID}"]`);
    const enRow = page.locator(`[data-testid="conversation-row"][data-id="${env.EN_CONVERSATION_ID}"]`);
    await faRow.waitFor();
    await enRow.waitFor();
    assert.equal(await faRow.locator('.subject').innerText(), env.FA_SUBJECT);
    await faRow.locator(`.name:text-is("${env.CUSTOMER_NAME}")`).waitFor();

    // English first: its bubble reads left to right.
    await enRow.click();
    const enBubble = page.locator('[data-testid="message"][data-seq="1"] .body');
    await page.locator(`[data-testid="message"][data-seq="1"] .body:text-is("${env.EN_BODY}")`).waitFor();
    assert.equal(await enBubble.getAttribute('dir'), 'ltr');

    // The Persian conversation, from the list.
    await faRow.click();
    await page.getByTestId('conversation-subject').filter({ hasText: env.FA_SUBJECT }).waitFor();
    const customerMsg = page.locator('[data-testid="message"][data-seq="1"]');
    await customerMsg.locator('.body', { hasText: env.FA_BODY }).waitFor();
    assert.match(await customerMsg.getAttribute('class'), /\bcustomer\b/);
    assert.equal(await customerMsg.getAttribute('data-internal'), 'false');
    const body = customerMsg.locator('.body');
    assert.equal(await body.innerText(), env.FA_BODY);
    assert.ok(['rtl', 'auto'].includes(await body.getAttribute('dir')), 'the Persian bubble is dir=rtl or dir=auto');
    assert.equal(await body.evaluate((el) => getComputedStyle(el).direction), 'rtl');
    assert.equal(await body.evaluate((el) => el.matches(':dir(rtl)')), true);
    // The customer panel.
    await page.locator(`[data-testid="customer-name"]:text-is("${env.CUSTOMER_NAME}")`).waitFor();
    assert.equal(await page.getByTestId('customer-name').evaluate((el) => getComputedStyle(el).direction), 'rtl');
    assert.ok((await page.getByTestId('identities').innerText()).includes(env.CUSTOMER_EMAIL));

    // A reply, sent with Ctrl+Enter.
    const composer = page.getByTestId('composer');
    assert.equal(await page.getByTestId('mode-reply').getAttribute('aria-pressed'), 'true');
    await composer.fill(env.REPLY);
    const replied = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/conversations/${env.FA_CONVERSATION_ID}/messages`));
    await composer.press('Control+Enter');
    assert.equal((await replied).status(), 201);
    const reply = page.locator('[data-testid="message"][data-seq="2"]');
    await reply.waitFor();
    assert.match(await reply.getAttribute('class'), /\bagent\b/);
    assert.equal(await reply.getAttribute('data-internal'), 'false');
    assert.equal(await reply.locator('.body').innerText(), env.REPLY);
    assert.equal(await reply.locator('.body').evaluate((el) => getComputedStyle(el).direction), 'rtl');
    await poll('the composer to be cleared after sending', async () => (await composer.inputValue()) === '');

    // An internal note.
    await page.getByTestId('mode-note').click();
    assert.equal(await page.getByTestId('mode-note').getAttribute('aria-pressed'), 'true');
    await composer.fill(env.NOTE);
    await page.getByTestId('send').click();
    const note = page.locator('[data-testid="message"][data-seq="3"]');
    await note.waitFor();
    assert.equal(await note.getAttribute('data-internal'), 'true');
    assert.match(await note.getAttribute('class'), /\binternal\b/);
    assert.equal(await note.locator('.body').innerText(), env.NOTE);

    // Resolved: the select holds and the history line appears.
    const patched = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(`/conversations/${env.FA_CONVERSATION_ID}`));
    await page.getByTestId('status-select').selectOption('resolved');
    assert.equal((await patched).status(), 200);
    const statusLine = page.locator('[data-testid="history-entry"][data-kind="status_changed"]');
    await poll('the resolved status with its history line', async () =>
      (await page.getByTestId('status-select').inputValue()) === 'resolved' && (await statusLine.count()) === 1);
    // Each message bubble exactly once.
    // The customer's timeline (newest first) picked up the reply and the note.
    const timeline = page.getByTestId('timeline-item');
    await timeline.filter({ hasText: env.NOTE }).waitFor();
    await timeline.filter({ hasText: env.REPLY }).waitFor();
    assert.match(await timeline.first().getAttribute('class'), /\binternal\b/);
    assert.deepEqual(
      await page.locator('[data-testid="message"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-seq'))),
      ['1', '2', '3'],
    );
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-conversation.png') });

    assert.equal(probeAnswered, 1, 'the session probe answered 401 once, before sign-in');
    assert.deepEqual(errors, [], 'no console errors besides the 401 before sign-in');
    assert.deepEqual(badResponses, [], 'no failed requests besides the 401 before sign-in');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
