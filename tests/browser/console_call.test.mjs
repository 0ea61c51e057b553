// A ringing call pops up on the console of the agent whose extension rings (not only on
// supervisors'): the caller's name, VIP badge, RFM segment and spend, last contacts, and a
// button that opens the profile, and a desktop notification once they switched those on.
// Started by `console::call::the_called_agent_sees_the_caller_pop_up_in_a_real_browser`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, poll, watchedPage, signIn, readmeShot } from './console_support.mjs';

test('the called agent sees who is calling, their tier and last contacts, and opens the profile', async () => {
  requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'CTI_URL', 'CALLER', 'CUSTOMER_NAME', 'LAST_SUBJECT']);
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'fa-IR');
  try {
    await page.context().grantPermissions(['notifications'], { origin: env.APP_URL });
    await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    assert.equal(await page.getByTestId('call-toast').count(), 0);
    // Desktop notifications on (the switch is kept per browser); the test records what the
    // console hands to the browser's Notification API.
    await page.evaluate(() => {
      const Real = window.Notification;
      window.notes_ = [];
      window.Notification = class extends Real {
        constructor(title, opts) {
          window.notes_.push({ title, body: opts && opts.body });
          super(title, opts);
        }
      };
    });
    await page.getByTestId('notify-menu').click();
    await page.getByTestId('notify-desktop').check();
    // The PBX says extension 201 rings.
    const res = await fetch(env.CTI_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'newCall', callId: 'browser-call-1', from: env.CALLER, to: '201', direction: 'in' }),
    });
    assert.equal(res.status, 200, await res.text());
    const pop = page.getByTestId('call-toast');
    await pop.waitFor({ timeout: 10000 });
    await pop.locator(`[data-testid="call-name"]:text-is("${env.CUSTOMER_NAME}")`).waitFor();
    await pop.getByTestId('call-vip').waitFor();
    // The RFM segment badge and what they spent, in rial with Persian digits.
    const segment = pop.getByTestId('call-segment');
    await segment.waitFor();
    assert.equal((await segment.textContent()).trim(), 'از دست رفته');
    assert.ok(await segment.isVisible());
    assert.equal((await pop.locator('.call-value').textContent()).trim(), 'خرید ۲٬۵۰۰٬۰۰۰ ریال');
    await pop.getByTestId('call-recent-item').filter({ hasText: env.LAST_SUBJECT }).first().waitFor();
    const notes = await poll('a desktop notification', () => page.evaluate(() => (window.notes_.length ? window.notes_ : null)));
    assert.equal(notes.length, 1);
    assert.equal(notes[0].title, 'تماس ورودی');
    assert.ok(notes[0].body.includes(env.CUSTOMER_NAME), notes[0].body);
    await page.getByTestId('notify-menu').click();
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-call-pop.png') });
    await readmeShot(page, 'console-fa-call.png');
    await pop.getByTestId('call-open').click();
    await page.locator(`[data-testid="customer-name"]:text-is("${env.CUSTOMER_NAME}")`).waitFor();
    await page.getByTestId('filter-customer').waitFor();
    assert.equal(await page.getByTestId('call-toast').count(), 0, 'the pop-up closes once the profile is open');
    assert.deepEqual(problems, [], 'no console errors or failed requests');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-call-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
