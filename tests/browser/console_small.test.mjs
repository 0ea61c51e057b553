// The small things, in the Persian console of a supervisor: history kinds read in Persian, a
// customer's rating shows as stars with the comment, resolved call logs stay out of
// "Unassigned", and the supervisor tables keep one column each, in the same order, across
// refreshes; a missed call's subject and line are Persian too. Started by `console::small::small_things_in_a_real_browser`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, watchedPage, signIn, row, poll, readmeShot } from './console_support.mjs';

const headers = (page, id) => page.locator(`[data-testid="${id}"] th`).allInnerTexts();

// Both search boxes show their whole placeholder, and the top bar is one row.
async function wholeTopBar(page) {
  for (const id of ['conversation-search', 'customer-search']) {
    const [text, needed, room] = await page.getByTestId(id).evaluate((el) => {
      const cs = getComputedStyle(el);
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.font = cs.font;
      const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      return [el.placeholder, ctx.measureText(el.placeholder).width, room];
    });
    assert.ok(needed <= room, `the placeholder "${text}" needs ${needed}px of ${room}px`);
  }
  const bar = await page.locator('#topbar').boundingBox();
  assert.ok(bar.height < 60, `the top bar wraps: ${bar.height}px high`);
  // No view button is cut at the views' edge ("Repo…"): those that do not fit are under "More".
  const past = await page.locator('#topbar .views').evaluate((v) => v.scrollWidth - v.clientWidth);
  assert.ok(past <= 0, `the views run ${past}px past their room`);
}

test('history in Persian, rating stars, a clean Unassigned list and stable supervisor tables', async () => {
  requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'CHAT_CONVERSATION_ID', 'CALL_CONVERSATION_ID', 'OPEN_CONVERSATION_ID', 'COMMENT', 'MISSED_CONVERSATION_ID', 'LOGGED_CALL_ID']);
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'fa-IR');
  try {
    await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    // The list's key hint wraps between keys, never between a key and what it does ("/" at
    // one line's end, "جستجو" on the next).
    const apart = await page.getByTestId('shortcuts').evaluate((p) => {
      const text = p.firstChild;
      const parts = text.data.split('، ');
      const lines = [];
      let at = 0;
      for (const part of parts) {
        const r = document.createRange();
        r.setStart(text, at);
        r.setEnd(text, at + part.length);
        lines.push([part, new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size]);
        at += part.length + 2;
      }
      return lines.filter(([, n]) => n > 1);
    });
    assert.deepEqual(apart, [], 'a key and its action on two lines');
    // Unassigned: the open conversation, not the resolved call log.
    await page.getByTestId('tab-unassigned').click();
    await row(page, env.OPEN_CONVERSATION_ID).waitFor();
    assert.equal(await row(page, env.CALL_CONVERSATION_ID).count(), 0, 'a resolved call log is nobody\'s work');

    // The missed call reads in Persian, in the list and in the conversation.
    const missed = row(page, env.MISSED_CONVERSATION_ID);
    await missed.locator('.subject', { hasText: 'تماس بی‌پاسخ از' }).waitFor();
    await missed.click();
    await page.getByTestId('conversation-subject').filter({ hasText: 'تماس بی‌پاسخ از' }).waitFor();
    const line = page.locator('[data-testid="message"][data-seq="1"] .body');
    await line.filter({ hasText: 'تماس ورودی، بی‌پاسخ' }).waitFor();
    assert.doesNotMatch(await page.getByTestId('messages').innerText(), /Missed|Inbound|answered/);
    // On a narrow screen its subject is cut, and the cut takes words, never the number's
    // digits ("…9124445566 تماس ورودی از" had lost the 0).
    await page.setViewportSize({ width: 760, height: 800 });
    await poll('the missed call\'s subject to be cut', async () => missed.locator('.subject-words').evaluate((w) => w.scrollWidth > w.clientWidth).catch(() => false));
    const number = await missed.locator('.subject').evaluate((el) => {
      const n = el.querySelector('.subject-number');
      const [a, b] = [el.getBoundingClientRect(), n.getBoundingClientRect()];
      return { text: n.textContent, whole: n.scrollWidth <= n.clientWidth && b.left >= a.left - 0.5 && b.right <= a.right + 0.5 };
    });
    assert.deepEqual(number, { text: '+989121112222', whole: true });
    await page.setViewportSize({ width: 1400, height: 900 });

    // The rated chat: stars and comment; the transfer in Persian.
    await page.getByTestId('filter-status').selectOption('resolved');
    await row(page, env.CHAT_CONVERSATION_ID).click();
    const rating = page.locator('[data-testid="history-entry"][data-kind="rated"]');
    await rating.waitFor();
    assert.equal(await rating.getByTestId('rating-stars').innerText(), '★★★★☆');
    assert.equal(await rating.getByTestId('rating-comment').innerText(), env.COMMENT);
    // …and on the customer's profile.
    const onProfile = page.getByTestId('customer-ratings');
    await onProfile.getByTestId('customer-rating-comment').filter({ hasText: env.COMMENT }).waitFor();
    assert.match(await onProfile.innerText(), /★★★★☆/);
    const moved = page.locator('[data-testid="history-entry"][data-kind="transferred"]');
    assert.equal(await moved.locator('bdi').first().innerText(), 'به صف دیگری منتقل شد');
    for (const text of await page.getByTestId('history-entry').allInnerTexts()) {
      assert.doesNotMatch(text, /[a-z]_[a-z]/, `an untranslated history kind: ${text}`);
    }
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-fa-history.png') });
    await readmeShot(page, 'console-fa-chat.png');

    // A call logged days after it happened: the conversation still opens with its creation,
    // then the call (not the call first because its time is older than the record's upload).
    await row(page, env.LOGGED_CALL_ID).click();
    const thread = page.getByTestId('messages');
    await thread.locator('[data-testid="message"][data-seq="1"]').waitFor();
    const order = await thread.locator(':scope > *').evaluateAll((els) =>
      els.map((e) => e.getAttribute('data-kind') || e.getAttribute('data-testid')));
    assert.equal(order[0], 'created', `the conversation's first line: ${order}`);
    assert.ok(order.indexOf('message') > 0, `the call after it: ${order}`);
    // A day alone said when the call came, not at what time: an older entry shows both.
    const when = await thread.locator('[data-testid="message"][data-seq="1"] time').innerText();
    assert.match(when, /[0-9۰-۹]{1,2}:[0-9۰-۹]{2}/, `the call's time: ${when}`);

    // Supervisor tables: same columns, once each, after a refresh.
    await page.getByTestId('view-supervisor').click();
    await page.getByTestId('stats-agents').waitFor();
    const before = [await headers(page, 'stats-queues'), await headers(page, 'stats-agents')];
    const stamp = await page.getByTestId('stats-updated').innerText();
    await poll('a refresh of the tables', async () => (await page.getByTestId('stats-updated').innerText()) !== stamp, 12000);
    const after = [await headers(page, 'stats-queues'), await headers(page, 'stats-agents')];
    assert.deepEqual(after, before);
    for (const cols of after) assert.equal(new Set(cols).size, cols.length, `duplicate columns: ${cols}`);
    // Every column in Persian (an untranslated key reads as lowercase English such as
    // "today · offered" or "presence since"), times as clock times, not ISO stamps.
    for (const c of after.flat()) assert.doesNotMatch(c, /[a-z]{2,}/, `an untranslated column: ${c}`);
    assert.ok(after[0].includes('امروز · پیشنهادشده'), `today's figures named: ${after[0]}`);
    assert.doesNotMatch(await page.getByTestId('stats-agents').innerText(), /\d{4}-\d\d-\d\dT/);
    // A bilingual queue name ("General — عمومی") on one line, not broken at its dash.
    const names = page.getByTestId('stats-queues').locator('tbody tr td:first-child bdi');
    // (Lines counted by their tops: one line of mixed directions is several boxes.)
    const linesOf = (els) => els.map((e) => [e.textContent, new Set([...e.getClientRects()].map((r) => Math.round(r.top))).size]);
    for (const [name, lines] of await names.evaluateAll(linesOf)) {
      assert.equal(lines, 1, `the queue name ${name} wraps`);
    }
    // …and both search boxes show their whole placeholder (the conversation search's was cut
    // to "(En…" in Persian, its key hint now in its title); the top bar (more views than an
    // agent's) keeps one row on a laptop screen.
    await wholeTopBar(page);
    // A table wider than the page scrolls inside its box: nothing runs off the screen's edge.
    const width = page.viewportSize().width;
    for (const id of ['stats-queues', 'stats-agents']) {
      const box = await page.getByTestId(id).locator('xpath=..').boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= width + 1, `${id} box ${JSON.stringify(box)} outside 0..${width}`);
    }
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-fa-supervisor.png') });
    await readmeShot(page, 'console-fa-supervisor.png');
    // The same in English on a smaller laptop (1,280 px cut both to "Search custo…"): the
    // views make room, into "More".
    await page.getByTestId('lang-toggle').click();
    await page.getByTestId('customer-search').and(page.locator('[data-long="Search customers…"]')).waitFor();
    await page.setViewportSize({ width: 1280, height: 800 });
    await poll('the top bar to fit the window', async () => wholeTopBar(page).then(() => true, () => false), 3000).catch(() => {});
    await wholeTopBar(page);
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-en-1280.png') });
    assert.deepEqual(problems, [], 'no console errors or failed requests');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-small-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
