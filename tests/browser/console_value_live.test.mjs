// The segment badge follows a customer's value live, in a real browser: an agent has Sara's
// conversation open; no model was fitted yet, so no badge shows. A refit (the API, as a
// supervisor would) puts "Lost" on her list row and in her profile, and two large orders then
// make her "Champions" there — each without a reload.
// Then a supervisor opens the key-customers report: Sara first by what she spent, with her
// badge and total, the CSV download listing her first, and her name opening her profile.
// Started by the Rust test `console::value::the_segment_badge_follows_refits_and_orders_live`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, poll, watchedPage, signIn, row, openFromTab } from './console_support.mjs';

async function call(method, path, body) {
  const resp = await fetch(env.APP_URL + path, {
    method,
    headers: { authorization: 'Bearer ' + env.ADMIN_TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await resp.text();
  assert.ok(resp.ok, `${method} ${path} -> ${resp.status} ${text}`);
  return JSON.parse(text);
}

const daysAgo = (n) => new Date(Date.now() - n * 86400000).toISOString();

test('the segment badge changes live after a refit and after orders', async () => {
  requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'ADMIN_TOKEN', 'CONVERSATION_ID', 'CUSTOMER_EMAIL']);
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'en-GB');
  try {
    await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    await page.locator('#live.on').waitFor();
    await openFromTab(page, 'open', env.CONVERSATION_ID);
    const profile = page.getByTestId('customer-profile');
    await profile.getByTestId('customer-value').waitFor();
    const rowBadge = row(page, env.CONVERSATION_ID).getByTestId('row-segment');
    const profileBadge = profile.getByTestId('segment-badge');
    assert.equal(await rowBadge.count(), 0, 'no segment before the first refit');
    assert.equal(await profileBadge.count(), 0);

    const text = async (loc) => ((await loc.count()) ? (await loc.textContent()).trim() : null);
    const shows = (want) => async () => (await text(rowBadge)) === want && (await text(profileBadge)) === want;

    await call('POST', '/api/v1/insights/customer-value/refit', {});
    await poll('the "Lost" badge after the refit', shows('Lost'));
    assert.ok(await rowBadge.isVisible());
    assert.ok(await profileBadge.isVisible());

    for (const [id, days] of [['LIVE-1', 2], ['LIVE-2', 1]]) {
      await call('POST', '/api/v1/orders', { identity: { kind: 'email', value: env.CUSTOMER_EMAIL },
        external_id: id, amount: 500000, currency: 'IRT', placed_at: daysAgo(days) });
    }
    await poll('the "Champions" badge after the orders', shows('Champions'));
    assert.ok(await rowBadge.isVisible());
    assert.ok(await profileBadge.isVisible());
    // The value section followed too: three orders now.
    await poll('three orders in the profile', async () =>
      (await text(profile.getByTestId('value-orders'))) === '3');
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-value-live.png') });
    assert.deepEqual(problems, [], 'no console errors or failed requests');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-value-live-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});

test('a supervisor reads the key customers, downloads them and opens one', async () => {
  requireEnv(['APP_URL', 'SUPERVISOR_EMAIL', 'SUPERVISOR_PASSWORD', 'CUSTOMER_EMAIL', 'ADMIN_TOKEN']);
  // The report's segments, CLV and P(alive) are those of the last refit: refit after the orders.
  await call('POST', '/api/v1/insights/customer-value/refit', {});
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'en-GB');
  try {
    await signIn(page, env.SUPERVISOR_EMAIL, env.SUPERVISOR_PASSWORD);
    await page.getByTestId('view-key-customers').click();
    const view = page.getByTestId('key-customers-view');
    await view.waitFor();
    const rows = view.getByTestId('key-row');
    await poll('five key customers', async () => (await rows.count()) === 5);
    const first = rows.first();
    assert.ok(await first.isVisible());
    assert.match(await first.innerText(), new RegExp(env.CUSTOMER_EMAIL.replace(/\./g, '\\.')));
    assert.equal((await first.getByTestId('key-total').textContent()).trim(), '1,005,000 toman');
    assert.equal((await first.getByTestId('key-segment').textContent()).trim(), 'Champions');
    assert.equal(new URL(page.url()).hash, '#/key-customers', 'the report has its own address');
    // P(alive) for Sara, who bought three times; a dash, explained on hover, for the four
    // customers of one order (the model counts them surely still buying until a second).
    assert.match((await first.getByTestId('key-p-alive').textContent()).trim(), /^\d+%$/);
    for (let k = 1; k < 5; k++) {
      const cell = rows.nth(k).getByTestId('key-p-alive');
      assert.equal((await cell.textContent()).trim(), '—');
      assert.equal(await cell.getAttribute('title'), 'Known after a second order');
    }

    const csv = view.getByTestId('key-csv');
    assert.ok(await csv.isVisible());
    const href = await csv.getAttribute('href');
    assert.match(href, /by=value/);
    const text = await page.evaluate((u) => fetch(u).then((r) => r.text()), href);
    const lines = text.trim().split('\n');
    assert.match(lines[0], /^customer_id,name,email,phone,segment,orders,total,clv,p_alive/);
    assert.match(lines[1], new RegExp(',' + env.CUSTOMER_EMAIL.replace(/\./g, '\\.') + ',,Champions,3,1005000,'));
    assert.equal(lines.length, 6);

    // At risk: Sara alone (her conversation), with the reason in words.
    await view.getByTestId('key-by').selectOption('at_risk');
    await poll('the CSV link follows the choice', async () => /by=at_risk/.test(await csv.getAttribute('href')));
    await poll('Sara alone at risk', async () => (await rows.count()) === 1);
    assert.match(await first.innerText(), new RegExp(env.CUSTOMER_EMAIL.replace(/\./g, '\\.')));
    assert.ok(await view.getByRole('columnheader', { name: 'Why at risk' }).isVisible());
    assert.equal((await first.getByTestId('key-reasons').innerText()).trim(), 'They contacted us repeatedly about one issue');

    // One segment: the Champions by what they spent (Sara alone), in the CSV link too.
    await view.getByTestId('key-by').selectOption('value');
    await view.getByTestId('key-segment-filter').selectOption('champions');
    await poll('the Champions alone', async () => (await rows.count()) === 1 &&
      /segment=champions/.test(await csv.getAttribute('href')));
    assert.equal((await first.getByTestId('key-segment').textContent()).trim(), 'Champions');
    await view.getByTestId('key-segment-filter').selectOption('');

    await view.getByTestId('key-by').selectOption('value');
    await poll('the ranking by value again', async () => (await rows.count()) === 5 &&
      /by=value/.test(await csv.getAttribute('href')));
    await first.getByTestId('key-open').click();
    const name = page.getByTestId('customer-profile').getByTestId('customer-name');
    await name.waitFor();
    assert.equal((await name.textContent()).trim(), env.CUSTOMER_EMAIL);
    // Her order in dollars, apart from her toman figures.
    const usd = page.getByTestId('customer-value').locator('[data-testid="value-other-currency"][data-currency="USD"]');
    assert.equal((await usd.textContent()).trim(), 'US$25.00 (one order)');
    assert.ok(await usd.isVisible());
    // Her long address does not push her segment off the panel.
    const pane = await page.locator('#custpane').boundingBox();
    const badge = await page.getByTestId('customer-profile').getByTestId('segment-badge').boundingBox();
    assert.ok(badge.x >= pane.x && badge.x + badge.width <= pane.x + pane.width,
      `the segment badge (${Math.round(badge.x)} to ${Math.round(badge.x + badge.width)}) is inside the panel (to ${Math.round(pane.x + pane.width)})`);
    assert.match(await page.getByTestId('filter-customer').innerText(), new RegExp(env.CUSTOMER_EMAIL.replace(/\./g, '\\.')));
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-key-customers.png') });
    // A customer of one order: their profile says when the chance will be known.
    await page.getByTestId('view-key-customers').click();
    await poll('the ranking again', async () => (await rows.count()) === 5);
    await rows.nth(4).getByTestId('key-open').click();
    const unknown = page.getByTestId('customer-value').getByTestId('value-p-alive');
    await poll('"Known after a second order" in the profile', async () => (await unknown.count()) === 1 &&
      (await unknown.textContent()).trim() === 'Known after a second order');
    assert.ok(await unknown.isVisible());
    assert.deepEqual(problems, [], 'no console errors or failed requests');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-key-customers-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
