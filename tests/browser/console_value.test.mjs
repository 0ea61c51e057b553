// Customer value in the console, in a real browser, in English and in Persian:
// - the conversation list row shows the customer's RFM segment badge;
// - the customer panel shows the total spent, the number of orders, the average order, how
//   many times the median customer's total, the lifetime value (toman, Persian digits in the
//   Persian UI), the segment badge, P(alive), the at-risk flag with its reason and the recent
//   orders, newest first.
// Started by the Rust test `console::value::customer_value_in_the_profile_and_the_list_in_a_real_browser`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, poll, watchedPage, signIn, row, openFromTab, readmeShot } from './console_support.mjs';

const CASES = [
  { locale: 'en-GB', dir: 'ltr', afterRepeat: 'Known after a second order', segment: 'Champions', total: '1,250,000 toman', orders: '3',
    newest: '350,000 toman', oldest: '400,000 toman', atRisk: 'At risk', reason: 'They contacted us repeatedly about one issue', shot: 'console-en-value.png',
    average: '416,667 toman', timesMedian: '41.7× the median customer',
    clv: /^([\d,]+ toman over the next 365 days|[\d.]+ orders expected over the next 365 days)$/ },
  { locale: 'fa-IR', dir: 'rtl', afterRepeat: 'پس از خرید دوم معلوم می‌شود', segment: 'قهرمانان', total: '۱٬۲۵۰٬۰۰۰ تومان', orders: '۳',
    newest: '۳۵۰٬۰۰۰ تومان', oldest: '۴۰۰٬۰۰۰ تومان', atRisk: 'در معرض ریزش', reason: 'برای یک موضوع بارها تماس گرفته است', shot: 'console-fa-value.png',
    average: '۴۱۶٬۶۶۷ تومان', timesMedian: '۴۱٫۷ برابر مشتری میانه',
    clv: /^([۰-۹٬]+ تومان در ۳۶۵ روز آینده|[۰-۹٫]+ سفارش در ۳۶۵ روز آینده)$/ },
];

for (const c of CASES) {
  test(`an agent sees a customer's value, orders and segment (${c.locale})`, async () => {
    requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'CONVERSATION_ID']);
    const browser = await launch();
    const { page, problems } = await watchedPage(browser, c.locale);
    try {
      await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
      assert.equal(await page.locator('html').getAttribute('dir'), c.dir);

      // The segment badge next to the name in the list row.
      await page.getByTestId('tab-open').click();
      const rowBadge = row(page, env.CONVERSATION_ID).getByTestId('row-segment');
      await rowBadge.waitFor();
      assert.equal((await rowBadge.textContent()).trim(), c.segment);
      assert.ok(await rowBadge.isVisible());

      // The profile: figures, segment and orders.
      await openFromTab(page, 'open', env.CONVERSATION_ID);
      const value = page.getByTestId('customer-value');
      await value.waitFor();
      const total = value.getByTestId('value-total');
      assert.equal((await total.textContent()).trim(), c.total);
      assert.ok(await total.isVisible());
      assert.equal((await value.getByTestId('value-orders').textContent()).trim(), c.orders);
      // Her average order, against the median customer's total (30,000 toman of five), and her
      // expected value (or orders, before spend can be fitted) over the next year.
      assert.equal((await value.getByTestId('value-average').textContent()).trim(), c.average);
      assert.equal((await value.getByTestId('value-times-median').textContent()).trim(), c.timesMedian);
      const clv = (await value.getByTestId('value-clv').textContent()).trim();
      assert.match(clv, c.clv, clv);
      assert.ok(await value.getByTestId('value-clv').isVisible());
      const badge = page.getByTestId('customer-profile').getByTestId('segment-badge');
      assert.equal((await badge.textContent()).trim(), c.segment);
      assert.ok(await badge.isVisible());
      assert.equal((await value.getByTestId('value-segment').textContent()).trim(), c.segment);
      const pAlive = (await value.getByTestId('value-p-alive').textContent()).trim();
      assert.match(pAlive, c.dir === 'rtl' ? /^[۰-۹]+٪$/ : /^\d+%$/, pAlive);

      // The at-risk flag with its reason.
      const risk = value.getByTestId('value-at-risk');
      assert.ok(await risk.isVisible());
      assert.match(await risk.innerText(), new RegExp(c.atRisk));
      assert.equal((await risk.getByTestId('value-at-risk-reason').textContent()).trim(), c.reason);

      const orders = value.getByTestId('order');
      await poll('the three orders', async () => (await orders.count()) === 3);
      const first = orders.first();
      assert.ok(await first.isVisible());
      assert.equal((await first.getByTestId('order-amount').textContent()).trim(), c.newest);
      assert.match(await first.textContent(), /WC-1003/);
      assert.equal((await orders.last().getByTestId('order-amount').textContent()).trim(), c.oldest);
      // A long order key stays inside the panel, cut short, and is whole on hover.
      const panel = await page.getByTestId('customer-profile').boundingBox();
      for (let k = 0; k < 3; k++) {
        for (const part of ['order-id', 'order-amount']) {
          const box = await orders.nth(k).getByTestId(part).boundingBox();
          assert.ok(box.x >= panel.x - 1 && box.x + box.width <= panel.x + panel.width + 1,
            `order ${k}'s ${part} inside the panel (${box.x} to ${box.x + box.width} of ${panel.x} to ${panel.x + panel.width})`);
        }
      }
      const longId = orders.last().getByTestId('order-id');
      assert.match(await longId.getAttribute('title'), /^WC-1001-subscription-/);
      assert.ok(await longId.evaluate((e) => e.scrollWidth > e.clientWidth), 'the long key is cut short');
      if (c.dir === 'rtl') {
        const text = await value.innerText();
        assert.doesNotMatch(text.replace(/WC-\d+|R\d F\d M\d/g, ''), /[0-9]/, 'Persian digits only');
      }
      await page.screenshot({ path: join(ARTIFACT_DIR, `console-value-${c.locale}.png`) });
      await readmeShot(page, c.shot);

      // A customer of one order, found by the customer search: the chance still buying is
      // known after a second order, in the agent's language.
      await page.getByTestId('customer-search').fill('other0@example.com');
      const hit = page.getByTestId('search-result').first();
      await hit.waitFor();
      await hit.click();
      const unknown = page.getByTestId('customer-value').getByTestId('value-p-alive');
      await poll('the one-order customer\'s chance still buying', async () => (await unknown.count()) === 1 &&
        (await unknown.textContent()).trim() === c.afterRepeat);
      assert.ok(await unknown.isVisible());
      assert.deepEqual(problems, [], 'no console errors or failed requests');
    } catch (e) {
      await page.screenshot({ path: join(ARTIFACT_DIR, `console-value-${c.locale}-failure.png`) }).catch(() => {});
      throw e;
    } finally {
      await browser.close();
    }
  });
}
