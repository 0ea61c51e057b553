// Conversation search and canned responses in the Persian console, in a real browser:
// - `447812` (Latin digits) finds the conversation written with Arabic letter forms and Persian
//   digits; its snippet shows the digits highlighted; clicking the result opens it;
// - a customer name typed with Arabic letter forms lists the customer; a second page of hits
//   comes with "more", and markup typed by a customer shows as text;
// - `/` + letters in the composer opens the canned-response picker filtered as you type (Arabic
//   letter forms folded); Enter or a click replaces `/shortcut` with the response rendered for
//   the open conversation (`{{customer.first_name}}` → the customer's first name).
// Started by the Rust test `console::search::conversation_search_and_canned_responses_in_a_real_browser`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, poll, watchedPage, signIn, readmeShot } from './console_support.mjs';

test('an agent finds a Persian conversation by its digits and fills a canned response with the customer name', async () => {
  requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'CONVERSATION_ID', 'CUSTOMER_ID', 'SUBJECT', 'FILLED', 'MARKUP']);
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'fa-IR');
  try {
    await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    assert.equal(await page.locator('html').getAttribute('dir'), 'rtl');

    // Search by digits: the Persian-digit conversation is the only hit, digits highlighted.
    const box = page.getByTestId('conversation-search');
    await box.fill('447812');
    await box.press('Enter');
    const panel = page.getByTestId('csearch-panel');
    await panel.waitFor();
    const hits = page.getByTestId('search-hit');
    await hits.first().waitFor();
    assert.equal(await hits.count(), 1);
    const hit = hits.first();
    assert.equal(await hit.getAttribute('data-id'), env.CONVERSATION_ID);
    const mark = hit.locator('[data-testid="search-snippet"] mark');
    assert.equal(await mark.count(), 1);
    assert.equal(await mark.isVisible(), true);
    assert.equal(await mark.textContent(), '۴۴۷۸۱۲');
    assert.match(await hit.getByTestId('search-snippet').innerText(), /كد رهگيري من ۴۴۷۸۱۲ است/);
    assert.equal(await hit.locator('.subject').innerText(), env.SUBJECT);
    await poll('the customer name on the hit', async () => (await hit.locator('.name').innerText()) === 'علی کریمی');
    // Highlighted: the mark has a background of its own.
    assert.notEqual(await mark.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgba(0, 0, 0, 0)');
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-search.png') });
    await readmeShot(page, 'console-fa-search.png');

    // Clicking the result opens the conversation.
    await hit.click();
    assert.equal(await panel.isVisible(), false);
    await page.getByTestId('conversation-subject').filter({ hasText: env.SUBJECT }).waitFor();
    assert.equal(new URL(page.url()).hash.endsWith(env.CONVERSATION_ID), true);

    // A customer found by her name written with Arabic letter forms.
    await box.fill('كريمي');
    await box.press('Enter');
    const cust = page.locator(`[data-testid="search-customer"][data-id="${env.CUSTOMER_ID}"]`);
    await cust.waitFor();
    assert.equal(await cust.locator('.name').innerText(), 'علی کریمی');
    await page.getByTestId('csearch-none').waitFor();
    await box.press('Escape');
    assert.equal(await panel.isVisible(), false);

    // 21 hits: a page of 20, then "more" brings the last; markup typed by a customer stays text.
    await box.fill('گارانتي');
    await box.press('Enter');
    await poll('the first page of hits', async () => (await hits.count()) === 20);
    const more = page.getByTestId('search-more');
    assert.equal(await more.isVisible(), true);
    await more.click();
    await poll('the second page of hits', async () => (await hits.count()) === 21);
    assert.equal(await more.count(), 0, 'no more pages');
    const markupHit = page.getByTestId('search-snippet').filter({ hasText: '<b>' });
    assert.equal(await markupHit.count(), 1);
    await markupHit.scrollIntoViewIfNeeded();
    assert.equal(await markupHit.isVisible(), true);
    assert.equal(await markupHit.innerText(), env.MARKUP);
    assert.equal(await markupHit.locator('b').count(), 0, 'no element made from the text');
    assert.equal(await markupHit.locator('mark').first().textContent(), 'گارانتی');
    await box.press('Escape');

    // Canned responses: "/" + letters opens the picker, filtered as you type.
    const ta = page.getByTestId('composer');
    await ta.click();
    await ta.pressSequentially('سلام /');
    const picker = page.getByTestId('canned-picker');
    await picker.waitFor();
    await poll('both shared responses listed', async () => (await page.getByTestId('canned-option').count()) === 2);
    await ta.pressSequentially('tr');
    await poll('the picker to narrow to /track', async () => {
      const opts = page.getByTestId('canned-option');
      return (await opts.count()) === 1 && (await opts.first().innerText()).includes('/track');
    });
    const option = page.getByTestId('canned-option').first();
    assert.equal(await option.isVisible(), true);
    assert.match(await option.innerText(), /پیگیری سفارش/);
    const rendered = page.waitForResponse((r) => r.request().method() === 'POST' && /\/canned-responses\/[^/]+\/render$/.test(r.url()));
    await ta.press('Enter');
    assert.equal((await rendered).status(), 200);
    await poll('the composer to hold the rendered response', async () => (await ta.inputValue()) === 'سلام ' + env.FILLED);
    assert.equal(await picker.isVisible(), false);
    assert.equal(await ta.isVisible(), true);
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-canned.png') });

    // Folding: the title typed with Arabic letter forms finds it too, and Enter pressed before
    // the list has caught up picks from the answer to what was typed.
    await ta.fill('');
    await ta.pressSequentially('/پيگيري');
    await ta.press('Enter');
    await poll('the composer to hold the response found by its title', async () => (await ta.inputValue()) === env.FILLED);

    // A click picks too.
    await ta.fill('');
    await ta.pressSequentially('/th');
    await poll('the picker to narrow to /thanks', async () => {
      const opts = page.getByTestId('canned-option');
      return (await opts.count()) === 1 && (await opts.first().innerText()).includes('/thanks');
    });
    await page.getByTestId('canned-option').first().click();
    await poll('the composer to hold the clicked response', async () => (await ta.inputValue()) === 'Thank you!');
    assert.equal(await picker.isVisible(), false);
    assert.deepEqual(problems, [], 'no console errors or failed requests');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-search-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
