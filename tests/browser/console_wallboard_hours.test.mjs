// Business-hours calendars in the Persian console of an admin: the week listed from Saturday, a
// holiday typed in Jalali with Persian digits, saved and shown back in Jalali; a supervisor has
// no such page. Started by `console::wallboard::business_hours_in_jalali_in_a_real_browser`,
// which then checks the stored calendar (Gregorian ISO holiday).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openView, env, ARTIFACT_DIR, requireEnv, launch, watchedPage, signIn } from './console_support.mjs';

test('an admin keeps a Saturday-first calendar with a Jalali holiday', async () => {
  requireEnv(['APP_URL', 'ADMIN_EMAIL', 'SUP_EMAIL', 'AGENT_PASSWORD', 'CALENDAR_NAME']);
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'fa-IR');
  const sup = await watchedPage(browser, 'fa-IR');
  try {
    await signIn(sup.page, env.SUP_EMAIL, env.AGENT_PASSWORD);
    await sup.page.getByTestId('view-wallboard').waitFor();
    assert.equal(await sup.page.getByTestId('view-hours').count(), 0, 'business hours are for admins');

    await signIn(page, env.ADMIN_EMAIL, env.AGENT_PASSWORD);
    await openView(page, 'hours');
    await page.getByTestId('hours-new').click();
    const days = await page.getByTestId('hours-day').evaluateAll((els) => els.map((e) => e.getAttribute('data-day')));
    assert.deepEqual(days, ['saturday', 'sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday']);
    assert.equal((await page.getByTestId('hours-day').first().locator('.bh-dayname').innerText()).trim(), 'شنبه');
    await page.getByTestId('hours-name').fill(env.CALENDAR_NAME);
    await page.getByTestId('hours-zone').fill('Asia/Tehran');
    // Nowruz 1406, typed with Persian digits.
    await page.getByTestId('hours-holiday-input').fill('۱۴۰۶/۰۱/۰۱');
    await page.getByTestId('hours-holiday-add').click();
    await page.locator('[data-testid="hours-holiday-list"] li[data-date="2027-03-21"]').waitFor();
    // A day that does not exist in the Jalali calendar is refused.
    await page.getByTestId('hours-holiday-input').fill('1405/12/30');
    await page.getByTestId('hours-holiday-add').click();
    assert.equal(await page.locator('[data-testid="hours-holiday-list"] li').count(), 1);
    await page.getByTestId('hours-holiday-input').fill('');
    const saved = page.waitForResponse((r) => r.url().endsWith('/api/v1/business-hours') && r.request().method() === 'POST');
    await page.getByTestId('hours-save').click();
    assert.equal((await saved).status(), 201);
    const row = page.getByTestId('hours-row').filter({ hasText: env.CALENDAR_NAME });
    await row.waitFor();
    assert.match(await row.getByTestId('hours-holidays').innerText(), /۱ فروردین ۱۴۰۶/);
    assert.equal((await row.locator('[data-day="friday"]').innerText()).trim(), 'تعطیل');
    await page.screenshot({ path: join(ARTIFACT_DIR, 'business-hours-fa.png') });
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    assert.deepEqual(sup.problems, [], 'no errors on the supervisor\'s console');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'business-hours-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
