// A chat visitor who typed a VIP customer's email into the pre-chat form: the agent sees the
// chat on the visitor's own profile (no VIP badge, no borrowed history), the email marked
// unverified, and the VIP customer as a possible match, merged only after confirming.
// A visitor who left nothing is "Web visitor", never a raw id. The profile is edited in place.
// Started by `console::visitor::an_unverified_prechat_email_is_only_a_possible_match_in_a_real_browser`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, watchedPage, signIn, row } from './console_support.mjs';

test('an unverified pre-chat email shows as a possible match, merged only after checking', async () => {
  requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'CLAIM_CONVERSATION_ID', 'ANON_CONVERSATION_ID', 'CLAIMED_EMAIL', 'OWNER_NAME', 'VISITOR_NAME', 'NEW_NAME']);
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'fa-IR');
  try {
    await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    await page.getByTestId('tab-unassigned').click();
    // The visitor without a name or email reads as a web visitor, not as a UUID.
    const anon = row(page, env.ANON_CONVERSATION_ID).locator('.name');
    await anon.filter({ hasText: 'بازدیدکنندهٔ وب' }).waitFor();
    assert.doesNotMatch(await anon.innerText(), /[0-9a-f]{8}-[0-9a-f]{4}/);

    await row(page, env.CLAIM_CONVERSATION_ID).click();
    await page.locator(`[data-testid="customer-name"]:text-is("${env.VISITOR_NAME}")`).waitFor();
    assert.equal(await page.getByTestId('vip-badge').count(), 0, 'the impostor does not get the VIP badge');
    assert.doesNotMatch(await page.getByTestId('identities').innerText(), /[0-9a-f]{8}-[0-9a-f]{4}/, 'no raw visitor id');
    const info = page.getByTestId('visitor-info');
    await info.getByTestId('email-unverified').waitFor();
    assert.equal(await info.getByTestId('visitor-email').innerText(), env.CLAIMED_EMAIL);
    const match = info.getByTestId('possible-match');
    assert.equal(await match.getByTestId('possible-match-name').innerText(), env.OWNER_NAME);
    // The timeline is the visitor's own: one conversation, this chat (counted once it shows).
    const conversations = page.locator('[data-testid="timeline-item"].tl-conversation');
    await conversations.first().waitFor();
    assert.equal(await conversations.count(), 1);
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-possible-match.png') });

    // Merge asks first; confirmed, the chat moves to the owner's profile.
    await match.getByTestId('possible-match-merge').click();
    await match.getByTestId('merge-confirm').waitFor();
    const merged = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/merge'));
    await match.getByTestId('merge-confirm-yes').click();
    assert.equal((await merged).status(), 200);
    await page.locator(`[data-testid="customer-name"]:text-is("${env.OWNER_NAME}")`).waitFor();
    await page.getByTestId('vip-badge').waitFor();

    // Edited from the profile: the new name shows in the panel and in the list.
    await page.getByTestId('customer-edit').click();
    await page.getByTestId('customer-edit-name').fill(env.NEW_NAME);
    await page.getByTestId('customer-edit-language').selectOption('fa');
    const patched = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/customers/'));
    await page.getByTestId('customer-save').click();
    assert.equal((await patched).status(), 200);
    await page.locator(`[data-testid="customer-name"]:text-is("${env.NEW_NAME}")`).waitFor();
    await row(page, env.CLAIM_CONVERSATION_ID).locator(`.name:text-is("${env.NEW_NAME}")`).waitFor();
    assert.deepEqual(problems, [], 'no console errors or failed requests');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-visitor-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
