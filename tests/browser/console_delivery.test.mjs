// Outgoing email shows its delivery state, updated live: an agent's reply on an email
// conversation whose mailbox cannot send turns "Not delivered … attempts: reason" without a
// reload. On a phone conversation the composer offers a note, never a public reply, and
// buttons that start an email to the customer or a callback task. Dates
// follow the Jalali calendar once the agent chooses it.
// Started by `console::delivery::email_delivery_state_and_the_phone_composer_in_a_real_browser`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, poll, watchedPage, signIn, openFromTab } from './console_support.mjs';

test('an email reply shows its delivery failing live, and a phone conversation takes notes only', async () => {
  requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'EMAIL_CONVERSATION_ID', 'PHONE_CONVERSATION_ID', 'REPLY']);
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'en-GB');
  try {
    await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    await openFromTab(page, 'open', env.EMAIL_CONVERSATION_ID);
    await page.getByTestId('composer').fill(env.REPLY);
    const sent = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/conversations/${env.EMAIL_CONVERSATION_ID}/messages`));
    await page.getByTestId('send').click();
    assert.equal((await sent).status(), 201);
    const reply = page.locator('[data-testid="message"].agent', { hasText: env.REPLY });
    const failed = reply.locator('[data-testid="delivery"][data-status="failed"]');
    await failed.waitFor({ timeout: 15000 });
    assert.match(await failed.innerText(), /Not delivered after 1 attempts: .*mailbox/);

    await openFromTab(page, 'open', env.PHONE_CONVERSATION_ID);
    await page.getByTestId('no-reply-channel').waitFor();
    assert.equal(await page.getByTestId('mode-reply').isDisabled(), true);
    assert.equal(await page.getByTestId('mode-note').getAttribute('aria-pressed'), 'true');
    // The notice offers what does reach the customer: an email to their address.
    const emailBtn = page.getByTestId('email-customer');
    await emailBtn.waitFor();
    assert.equal(await emailBtn.innerText(), 'Email caller@example.com');
    await emailBtn.click();
    await page.getByTestId('followup-toast').waitFor();
    await page.getByTestId('conversation-subject').filter({ hasText: 'Call (#' }).waitFor();
    assert.equal(await page.getByTestId('mode-reply').isDisabled(), false, 'an email conversation takes replies');
    await openFromTab(page, 'open', env.PHONE_CONVERSATION_ID);
    await page.getByTestId('callback-task').click();
    await page.getByTestId('conversation-subject').filter({ hasText: 'Call back (#' }).waitFor();
    await openFromTab(page, 'open', env.PHONE_CONVERSATION_ID);
    // The Jalali calendar in the English console, when the agent chooses it.
    const stamp = page.locator('[data-testid="message"] time').first();
    assert.doesNotMatch(await stamp.getAttribute('title'), / AP\b/);
    await page.getByTestId('notify-menu').click();
    await page.getByTestId('calendar-jalali').check();
    await poll('Jalali dates', async () => / AP\b/.test(await page.locator('[data-testid="message"] time').first().getAttribute('title')));
    // The agent's own time zone: Tehran is 3:30 ahead of this browser's UTC.
    const utcTitle = await page.locator('[data-testid="message"] time').first().getAttribute('title');
    if (!(await page.getByTestId('time-zone').isVisible())) await page.getByTestId('notify-menu').click();
    await page.getByTestId('time-zone').selectOption('Asia/Tehran');
    await poll('Tehran times', async () => (await page.locator('[data-testid="message"] time').first().getAttribute('title')) !== utcTitle);
    const hm = (s) => { const m = /(\d\d):(\d\d)/.exec(s); return Number(m[1]) * 60 + Number(m[2]); };
    const shifted = hm(await page.locator('[data-testid="message"] time').first().getAttribute('title'));
    assert.equal((shifted - hm(utcTitle) + 1440) % 1440, 210);
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-delivery.png') });
    assert.deepEqual(problems, [], 'no console errors or failed requests');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-delivery-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
