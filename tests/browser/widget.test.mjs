// The website widget in a real browser: a visitor writes in Persian, an agent answers through
// the API, and the reply appears in the widget as a right-to-left bubble; then the visitor
// sends a picture (cross-origin upload) and rates the resolved chat.
//
// Started by the Rust test `chat::browser::browser_widget_round_trip`, which runs the server
// and the host page and passes APP_URL, PAGE_URL, ADMIN_TOKEN and ARTIFACT_DIR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const { APP_URL, PAGE_URL, ADMIN_TOKEN } = process.env;
const ARTIFACT_DIR = process.env.ARTIFACT_DIR || 'artifacts';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const QUESTION = 'سلام، سفارشم کجاست؟';
const ANSWER = 'سفارش شما ارسال شد';
const TRACK = 'https://shop.example/track/42';
// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

async function api(method, path, body) {
  const resp = await fetch(APP_URL + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await resp.text();
  assert.ok(resp.ok, `${method} ${path} -> ${resp.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function poll(what, fn, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a visitor asks in Persian, sees the reply right-to-left, sends a picture and rates the chat', async () => {
  for (const [k, v] of Object.entries({ APP_URL, PAGE_URL, ADMIN_TOKEN })) {
    assert.ok(v, `${k} is not set: run this through \`cargo test --test api chat::browser\``);
  }
  mkdirSync(ARTIFACT_DIR, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const page = await browser.newPage({ locale: 'fa-IR', viewport: { width: 1000, height: 800 } });
  page.on('console', (m) => console.log(`[page ${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  try {
    await page.goto(PAGE_URL);
    await page.getByTestId('launcher').click();
    await page.getByTestId('panel').waitFor({ state: 'visible' });
    const input = page.getByTestId('composer-input');
    await input.fill(QUESTION);
    await page.getByTestId('send-button').click();

    // Acknowledged by the server: the visitor bubble gets a seq and leaves "sending".
    const mine = page.locator('[data-testid="message"][data-author="visitor"]').first();
    await mine.waitFor();
    await poll('the ack', async () => (await mine.getAttribute('data-seq')) === '1');
    assert.equal(await mine.locator('.bubble').getAttribute('dir'), 'rtl');

    // The agent finds the chat and answers through the API.
    const conv = await poll('the conversation', async () => {
      const page = await api('GET', '/api/v1/conversations?channel=chat');
      return page.items.find((c) => c.channel === 'chat');
    });
    const messages = await api('GET', `/api/v1/conversations/${conv.id}/messages`);
    assert.equal(messages.items[0].body, QUESTION);
    await api('POST', `/api/v1/conversations/${conv.id}/messages`, { body: `${ANSWER}: ${TRACK}.` });

    const reply = page.locator('[data-testid="message"][data-author="agent"]').first();
    await reply.waitFor({ timeout: 15000 });
    assert.equal(await reply.getAttribute('data-seq'), '2');
    assert.match(await reply.innerText(), new RegExp(ANSWER));
    // The address in it is a link to a new tab, without the sentence's full stop.
    const track = reply.locator('a');
    assert.deepEqual([await track.getAttribute('href'), await track.innerText(), await track.getAttribute('target')], [TRACK, TRACK, '_blank']);
    assert.equal(await reply.locator('.bubble').getAttribute('dir'), 'rtl');
    const state = await page.evaluate(() => window.Switchboard.state());
    assert.equal(state.lastSeq, 2);
    assert.equal(state.dir, 'rtl');
    await page.screenshot({ path: join(ARTIFACT_DIR, 'widget-round-trip.png') });

    // A picture: uploaded cross-origin (CORS preflight with the Visitor token), sent as a
    // message, and shown from its signed URL.
    await page.getByTestId('file-input').setInputFiles({ name: 'رسید.png', mimeType: 'image/png', buffer: PNG });
    const picture = page.locator('[data-testid="message"][data-author="visitor"][data-seq="3"]');
    await picture.waitFor({ timeout: 15000 });
    const img = picture.locator('img');
    await poll('the image from the server', () =>
      img.evaluate((el) => el.complete && el.naturalWidth === 1 && el.src.startsWith(location.protocol) && !el.src.startsWith('blob:')));
    const stored = await api('GET', `/api/v1/conversations/${conv.id}/messages`);
    assert.equal(stored.items[2].meta.attachment.content_type, 'image/png');

    // Resolved: the rating card appears, and the score reaches the server.
    await api('PATCH', `/api/v1/conversations/${conv.id}`, { status: 'resolved' });
    await page.getByTestId('rating-star-5').click();
    await page.getByTestId('rating-comment').fill('عالی بود');
    await page.getByTestId('rating-submit').click();
    await page.getByTestId('rating-thanks').waitFor();
    const rating = await poll('the rating', async () => {
      const r = await fetch(`${APP_URL}/api/v1/channels/chat/conversations/${conv.id}/rating`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      return r.ok ? r.json() : null;
    });
    assert.equal(rating.score, 5);
    assert.equal(rating.comment, 'عالی بود');
    await page.screenshot({ path: join(ARTIFACT_DIR, 'widget-rated.png') });
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'widget-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});

// ---------------------------------------------------------------------------------------
// A page on an origin the site does not allow (issue 16): the widget learns why from the
// server (`origin_not_allowed`), shows "chat is not enabled here" and stops connecting.
// The page is the server's own test page (`/widget/test?site=KEY`), whose origin the site
// below does not list.
test('on a page whose origin the site does not allow, the widget says chat is not enabled and stops retrying', async () => {
  assert.ok(APP_URL && ADMIN_TOKEN, 'run this through `cargo test --test api chat::browser`');
  const site = await api('POST', '/api/v1/channels/chat/sites', {
    name: 'Elsewhere', allowed_origins: ['https://elsewhere.example'],
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const page = await browser.newPage({ locale: 'en-US' });
  let sockets = 0;
  page.on('websocket', () => { sockets++; });
  try {
    await page.goto(`${APP_URL}/widget/test?site=${encodeURIComponent(site.site_key)}`);
    await page.getByTestId('launcher').click();
    const status = page.getByTestId('connection-status');
    await poll('the not-enabled state', async () => (await status.getAttribute('data-state')) === 'not-enabled');
    // The page is Persian (`<html lang="fa">`), so the widget speaks Persian.
    assert.match(await status.innerText(), /not enabled|فعال نیست/);
    const state = await page.evaluate(() => window.Switchboard.state());
    assert.equal(state.refused, true);
    assert.equal(state.connected, false);
    // A retrying widget would reconnect within 1–2 s; this one stays quiet.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(sockets, 1, 'one attempt, no retries');
    await page.screenshot({ path: join(ARTIFACT_DIR, 'widget-not-enabled.png') });
  } finally {
    await browser.close();
  }
});
