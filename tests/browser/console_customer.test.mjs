// Editing a customer from the console and merging a duplicate after a preview (English UI):
// an attribute is changed, one removed and one added; a phone identity is added; the duplicate
// found by name is previewed (what moves) and merged, and the profile shows the result.
// Started by `console::customer::editing_and_merging_a_customer_in_a_real_browser`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, watchedPage, signIn, openFromTab, poll } from './console_support.mjs';

test('an agent edits attributes and identities and merges a duplicate after a preview', async () => {
  requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'CONVERSATION_ID', 'DUPLICATE_NAME']);
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'en-GB');
  try {
    await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    await openFromTab(page, 'open', env.CONVERSATION_ID);
    const profile = page.getByTestId('customer-profile');
    await profile.getByTestId('customer-edit').click();
    const rows = page.getByTestId('attr-rows').locator('.attr-row');
    await poll('two attribute rows', async () => (await rows.count()) === 2);
    // plan: gold → platinum; city removed; a new «شهر» = «تهران».
    const keys = await rows.getByTestId('attr-key').evaluateAll((els) => els.map((e) => e.value));
    await rows.nth(keys.indexOf('plan')).getByTestId('attr-value').fill('platinum');
    await rows.nth(keys.indexOf('city')).getByTestId('attr-remove').click();
    await page.getByTestId('attr-add').click();
    await rows.last().getByTestId('attr-key').fill('شهر');
    await rows.last().getByTestId('attr-value').fill('تهران');
    const saved = page.waitForResponse((r) => r.request().method() === 'PATCH');
    await page.getByTestId('customer-save').click();
    assert.equal((await saved).status(), 200);
    const attrs = profile.getByTestId('attributes');
    await attrs.filter({ hasText: 'platinum' }).waitFor();
    const text = await attrs.innerText();
    assert.ok(text.includes('شهر') && text.includes('تهران'), text);
    assert.ok(!text.includes('city'), text);

    // A phone identity, added from the editor.
    await profile.getByTestId('customer-edit').click();
    await page.getByTestId('identity-kind').selectOption('phone');
    await page.getByTestId('identity-value').fill('0912 345 6789');
    await page.getByTestId('identity-add').click();
    await profile.getByTestId('identities').filter({ hasText: '0912 345 6789' }).waitFor();

    // Merge the duplicate after the preview.
    await profile.getByTestId('customer-merge').click();
    await page.getByTestId('merge-search').fill(env.DUPLICATE_NAME);
    await page.getByTestId('merge-candidate').filter({ hasText: env.DUPLICATE_NAME }).click();
    const preview = page.getByTestId('merge-preview');
    await preview.waitFor();
    assert.equal(await preview.getByTestId('merge-moves').innerText(), 'Moves 1 conversations, 0 orders and 1 identities.');
    assert.ok((await preview.getByTestId('merge-result').innerText()).includes('VIP'), 'the higher tier wins');
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-merge-preview.png') });
    const merged = page.waitForResponse((r) => r.url().endsWith('/merge') && r.request().method() === 'POST');
    await preview.getByTestId('merge-preview-yes').click();
    assert.equal((await merged).status(), 200);
    await profile.getByTestId('identities').filter({ hasText: 'dup@example.com' }).waitFor();
    await profile.getByTestId('vip-badge').waitFor();
    assert.deepEqual(problems, [], 'no console errors or failed requests');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-customer-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
