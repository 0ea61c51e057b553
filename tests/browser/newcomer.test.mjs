// The newcomer's path (issue 16), on a fresh server with only its first admin: the admin logs
// in to the console and goes available; a visitor opens the test page the server serves for
// a chat site (`/widget/test?site=KEY`) and writes; the chat lands in the default queue and is
// offered on the console; the admin accepts and answers; the visitor sees the answer.
//
// Started by the Rust test `newcomer::…`, which runs the server and passes APP_URL, SITE_KEY,
// ADMIN_EMAIL, ADMIN_PASSWORD and ARTIFACT_DIR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const { APP_URL, SITE_KEY, ADMIN_EMAIL, ADMIN_PASSWORD } = process.env;
const ARTIFACT_DIR = process.env.ARTIFACT_DIR || 'artifacts';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const QUESTION = 'سلام، این اولین گفتگوی من است';
const ANSWER = 'خوش آمدید! چطور کمک کنم؟';

test('a fresh server: console login, available, a chat from the served test page is offered, accepted and answered', async () => {
  for (const [k, v] of Object.entries({ APP_URL, SITE_KEY, ADMIN_EMAIL, ADMIN_PASSWORD })) {
    assert.ok(v, `${k} is not set: run this through \`cargo test --test api newcomer\``);
  }
  mkdirSync(ARTIFACT_DIR, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const agentSide = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
  const visitorSide = await browser.newContext({ locale: 'fa-IR', viewport: { width: 1000, height: 800 } });
  const console_ = await agentSide.newPage();
  const visitor = await visitorSide.newPage();
  try {
    // The admin: log in, go available.
    await console_.goto(`${APP_URL}/console/`);
    await console_.getByTestId('login-email').fill(ADMIN_EMAIL);
    await console_.getByTestId('login-password').fill(ADMIN_PASSWORD);
    await console_.getByTestId('login-submit').click();
    await console_.getByTestId('me-name').waitFor();
    await console_.locator('[data-testid="live-indicator"].on').waitFor({ timeout: 10000 });
    await console_.getByTestId('presence-select').selectOption('available');
    await console_.locator('[data-testid="presence-select"].presence-available').waitFor();

    // The visitor: the server's own test page for the site.
    await visitor.goto(`${APP_URL}/widget/test?site=${encodeURIComponent(SITE_KEY)}`);
    await visitor.getByTestId('launcher').click();
    await visitor.locator('[data-testid="connection-status"][data-state="online"]').waitFor({ timeout: 15000 });
    await visitor.getByTestId('composer-input').fill(QUESTION);
    await visitor.getByTestId('send-button').click();
    const mine = visitor.locator('[data-testid="message"][data-author="visitor"][data-seq="1"]');
    await mine.waitFor({ timeout: 15000 });

    // Offered on the console (default queue), accepted: the conversation opens.
    const accept = console_.getByTestId('offer-accept').first();
    await accept.waitFor({ timeout: 20000 });
    await accept.click();
    await console_.locator('[data-testid="message"][data-seq="1"] .body', { hasText: QUESTION }).waitFor({ timeout: 15000 });
    // …and is listed under "Mine" (the tab shown), without switching tabs or reloading.
    await console_.locator('[data-testid="tab-mine"][aria-selected="true"]').waitFor();
    await console_.locator('#convlist [data-testid="conversation-row"].current').waitFor({ timeout: 5000 });
    const composer = console_.getByTestId('composer');
    await composer.fill(ANSWER);
    await console_.getByTestId('send').click();
    await console_.locator('[data-testid="message"][data-seq="2"]').waitFor();

    // The visitor sees the answer, right to left.
    const reply = visitor.locator('[data-testid="message"][data-author="agent"]').first();
    await reply.waitFor({ timeout: 15000 });
    assert.match(await reply.innerText(), new RegExp(ANSWER.slice(0, 10)));
    assert.equal(await reply.locator('.bubble').getAttribute('dir'), 'rtl');
    await visitor.screenshot({ path: join(ARTIFACT_DIR, 'newcomer-widget.png') });
    await console_.screenshot({ path: join(ARTIFACT_DIR, 'newcomer-console.png') });

    // On this 1,280 px screen the views bar does not scroll: what does not fit is under
    // "More", and a view there opens from it.
    const views = console_.locator('#topbar .views');
    assert.ok(await views.evaluate((el) => el.scrollWidth <= el.clientWidth), 'the views bar does not scroll');
    const more = console_.getByTestId('views-more');
    assert.ok(await more.isVisible(), 'a More menu on a narrow screen');
    await more.click();
    const keyCustomers = console_.locator('#views-more').getByTestId('view-key-customers');
    await keyCustomers.click();
    await console_.getByTestId('key-customers-view').waitFor();
    const bar = await console_.locator('#topbar').boundingBox();
    for (const id of ['view-inbox', 'views-more', 'logout']) {
      const box = await console_.getByTestId(id).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= bar.width, `${id} is on the screen`);
    }
    await console_.screenshot({ path: join(ARTIFACT_DIR, 'newcomer-console-more.png') });
  } catch (e) {
    await visitor.screenshot({ path: join(ARTIFACT_DIR, 'newcomer-widget-failure.png') }).catch(() => {});
    await console_.screenshot({ path: join(ARTIFACT_DIR, 'newcomer-console-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
