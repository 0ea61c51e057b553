// Live chat signals both ways between a visitor (the widget protocol, from a page of the same
// browser) and the agent's console: opening the chat tells the visitor it was read, the agent's
// typing reaches the visitor, the visitor's typing shows above the composer, and the visitor's
// read mark puts "Seen" on the agent's reply; a late answer to an older reload keeps a message
// that came live since.
// Started by `console::signals::typing_and_read_signals_both_ways_in_a_real_browser`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, watchedPage, signIn, row, poll } from './console_support.mjs';

// A visitor socket inside a page: frames received are kept in window.frames_.
async function visitor(browser) {
  const { page } = await watchedPage(browser, 'fa-IR');
  await page.goto(env.APP_URL + '/healthz');
  await page.evaluate((key) => new Promise((resolve, reject) => {
    window.frames_ = [];
    const ws = new WebSocket(`ws://${location.host}/ws/widget?site=${key}`);
    window.ws_ = ws;
    ws.onmessage = (m) => {
      const f = JSON.parse(m.data);
      window.frames_.push(f);
      if (f.type === 'welcome') resolve();
      if (f.type === 'error') reject(new Error(m.data));
    };
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', site: key, locale: 'fa' }));
    ws.onerror = () => reject(new Error('socket error'));
  }), env.SITE_KEY);
  const send = (f) => page.evaluate((frame) => window.ws_.send(JSON.stringify(frame)), f);
  const frame = (pred) => poll(`a visitor frame ${pred}`, () => page.evaluate(
    (src) => window.frames_.find(new Function('f', `return ${src}`)) || null, pred));
  return { page, send, frame };
}

test('typing and read signals travel both ways between a visitor and the agent', async () => {
  requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'SITE_KEY', 'AGENT_NAME']);
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'fa-IR');
  try {
    const v = await visitor(browser);
    await v.send({ type: 'message', client_id: 'v1', text: 'سلام، کسی هست؟' });
    const ack = await v.frame("f.type === 'ack' && f.client_id === 'v1'");
    const conv = ack.conversation_id;

    await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    await page.getByTestId('tab-unassigned').click();
    await row(page, conv).click();
    // Shown to the agent: the visitor hears it was read.
    await v.frame("f.type === 'read' && f.seq === 1");
    await page.getByTestId('assign-me').click();
    await page.getByTestId('assignee').filter({ hasText: env.AGENT_NAME }).waitFor();

    // The agent types: the visitor sees it.
    await page.getByTestId('composer').pressSequentially('سلام، بله');
    const typing = await v.frame("f.type === 'typing' && f.on === true");
    assert.equal(typing.author_name, env.AGENT_NAME);
    // The visitor types: the agent sees it.
    await v.send({ type: 'typing', on: true });
    await page.getByTestId('visitor-typing').waitFor({ state: 'visible' });
    await v.send({ type: 'typing', on: false });
    await page.getByTestId('visitor-typing').waitFor({ state: 'hidden' });

    // The reply, read by the visitor: "Seen".
    await page.getByTestId('composer').press('Control+Enter');
    await v.frame("f.type === 'typing' && f.on === false");
    const reply = await v.frame("f.type === 'message' && f.author === 'agent'");
    const bubble = page.locator(`[data-testid="message"][data-seq="${reply.seq}"]`);
    await bubble.waitFor();
    assert.equal(await bubble.getByTestId('read-mark').count(), 0, 'not seen yet');
    await v.send({ type: 'read', seq: reply.seq });
    await bubble.getByTestId('read-mark').waitFor();
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-signals.png') });

    // A late answer to an older reload does not take a message that came live since off the
    // screen: the conversation's reloads are answered only after the visitor's next message.
    const conversation = (url) => url.pathname === `/api/v1/conversations/${conv}`;
    let held = 0;
    let release;
    const gate = new Promise((r) => { release = r; });
    await page.route(conversation, async (route) => {
      if (route.request().method() !== 'GET') return route.continue();
      const response = await route.fetch();
      held++;
      await gate;
      await route.fulfill({ response });
    });
    await page.getByTestId('tag-input').fill('late');
    await page.getByTestId('tag-input').press('Enter');
    await poll('a reload read before the next message', async () => held > 0);
    await v.send({ type: 'message', client_id: 'v2', text: 'هنوز اینجایید؟' });
    const next = await v.frame("f.type === 'ack' && f.client_id === 'v2'");
    const live = page.locator(`[data-testid="message"][data-seq="${next.seq}"]`);
    await live.waitFor();
    release();
    // The tag shows once the held answer is on the screen.
    await page.getByTestId('tag').filter({ hasText: 'late' }).waitFor();
    assert.equal(await live.count(), 1, 'the live message is still shown');
    await page.unroute(conversation);
    assert.deepEqual(problems, [], 'no console errors or failed requests');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-signals-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
