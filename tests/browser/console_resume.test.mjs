// Resuming after a dropped socket (issue 17, "nothing missed after a reconnect"): the agent's
// console socket is cut while a message is written to the open conversation; the console
// reconnects with `?since=` the last event it saw and shows the message, without a reload.
//
// Started by the Rust test `console::resume::…`, which passes APP_URL, AGENT_EMAIL,
// AGENT_PASSWORD, ADMIN_TOKEN, CONVERSATION_ID and ARTIFACT_DIR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, requireEnv, launch, watchedPage, signIn, openFromTab, poll, ARTIFACT_DIR } from './console_support.mjs';

const TEXT = 'written while the console was cut off';

test('a console whose socket dropped catches up on what happened meanwhile', async () => {
  requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'ADMIN_TOKEN', 'CONVERSATION_ID']);
  const id = env.CONVERSATION_ID;
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'en-US');
  // Every console socket passes through here, so the test can cut one.
  const sockets = [];
  await page.routeWebSocket(/\/ws\/console/, (ws) => {
    ws.connectToServer();
    sockets.push(ws);
  });
  try {
    await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    await openFromTab(page, 'mine', id);
    assert.equal(sockets.length, 1);
    // An event first, so the console has a position in the log beyond its hello.
    await post(id, 'before the cut');
    await page.locator('[data-testid="message"]', { hasText: 'before the cut' }).waitFor({ timeout: 10000 });

    // Cut the socket; the message is written before the console reconnects (after ~1 s).
    await sockets[0].close();
    await page.locator('[data-testid="live-indicator"]:not(.on)').waitFor({ timeout: 5000 });
    await post(id, TEXT);

    await page.locator('[data-testid="message"]', { hasText: TEXT }).waitFor({ timeout: 15000 });
    await page.locator('[data-testid="live-indicator"].on').waitFor({ timeout: 10000 });
    assert.ok(sockets.length >= 2, 'the console reconnected');
    assert.match(sockets[1].url(), /[?&]since=\d+/, 'it resumed from the last event it saw');
    // Shown once.
    assert.equal(await page.locator('[data-testid="message"]', { hasText: TEXT }).count(), 1);
    await poll('no duplicate after the live event', async () =>
      (await page.locator('[data-testid="message"]', { hasText: TEXT }).count()) === 1);
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-resume.png') });
    assert.deepEqual(problems, [], 'no errors on the console');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-resume-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});

async function post(id, body) {
  const r = await fetch(`${env.APP_URL}/api/v1/conversations/${id}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ body, internal: false }),
  });
  assert.equal(r.status, 201, await r.text());
}
