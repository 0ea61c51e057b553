// The supervisor's wallboard and reports, in real browsers: a figure changes on the supervisor's
// screen when an agent (a second browser context) takes the offered contact; an agent has no
// wallboard and the API refuses them; the supervisor sets an agent's presence and reassigns
// their conversation from the board; the full-screen wall mode; today's report row and its CSV;
// "today" as the server's day in browsers on other days; the wallboard in Persian, right to left. Started by
// `console::wallboard::the_wallboard_and_reports_in_real_browsers`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, watchedPage, signIn, poll, readmeShot, assertTopbarOneRow, openView } from './console_support.mjs';

let browser;
const pages = [];

before(async () => {
  requireEnv(['APP_URL', 'SUP_EMAIL', 'SUP_ID', 'AGENT_EMAIL', 'AGENT_ID', 'AGENT_NAME', 'AGENT_PASSWORD', 'QUEUE_ID', 'CONVERSATION_ID']);
  browser = await launch();
});

after(async () => {
  for (const [name, p] of pages) await p.page.screenshot({ path: join(ARTIFACT_DIR, `wallboard-${name}-last.png`) }).catch(() => {});
  await browser?.close();
});

// Every column of a table is on the screen: nobody scrolls a wall display, and a report's day
// table is read whole on a desk screen.
async function assertColumnsOnScreen(page, table, who) {
  const off = await page.evaluate((sel) => {
    const width = document.documentElement.clientWidth;
    return [...document.querySelectorAll(`[data-testid="${sel}"] thead th`)]
      .map((th) => [th.innerText.trim(), th.getBoundingClientRect()])
      .filter(([, r]) => r.left < 0 || r.right > width)
      .map(([name, r]) => `${name} (${Math.round(r.left)} to ${Math.round(r.right)} of ${width})`);
  }, table);
  assert.deepEqual(off, [], `every column of ${table} on the screen (${who})`);
}

async function open(name, locale, allowed = [], zone = 'UTC') {
  const p = await watchedPage(browser, locale, allowed, zone);
  pages.push([name, p]);
  return p;
}

const cell = (page, field) => page.locator(`[data-testid="wb-queue"][data-id="${env.QUEUE_ID}"] [data-field="${field}"]`);
const text = async (page, field) => (await cell(page, field).innerText()).trim();
const until = (page, field, want, ms = 20000) =>
  poll(`${field} to read ${want}`, async () => (await text(page, field)) === want, ms);

let sup;
let agent;

test('the waiting figure and today\'s answered count change on screen when the agent takes the contact', async () => {
  sup = await open('supervisor', 'en-GB');
  agent = await open('agent', 'en-GB', ['GET /api/v1/stats/queues -> 403', 'GET /api/v1/stats/agents -> 403', 'GET /api/v1/reports/summary -> 403']);
  await signIn(sup.page, env.SUP_EMAIL, env.AGENT_PASSWORD);
  const statsReads = [];
  sup.page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/v1/stats/queues') statsReads.push(r); });
  await sup.page.getByTestId('view-wallboard').click();
  assert.match(sup.page.url(), /#\/wallboard$/);
  await until(sup.page, 'waiting', '1');
  const answeredBefore = await text(sup.page, 'answered_today');

  // The agent: no wallboard, reports or business hours in the console, and the API says no.
  await signIn(agent.page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
  for (const v of ['wallboard', 'reports', 'hours', 'supervisor']) assert.equal(await agent.page.getByTestId(`view-${v}`).count(), 0, `an agent has no ${v} entry`);
  const refused = await agent.page.evaluate(async () => Promise.all(['/api/v1/stats/queues', '/api/v1/stats/agents', '/api/v1/reports/summary'].map(async (u) => {
    const r = await fetch(u, { credentials: 'same-origin' });
    return [u, r.status, (await r.json().catch(() => ({}))).code];
  })));
  for (const [u, status] of refused) assert.equal(status, 403, `${u} refuses an agent`);
  // An agent who types the wallboard's address lands in the inbox.
  await agent.page.goto(env.APP_URL + '/console/#/wallboard');
  await agent.page.locator('#listpane').waitFor();
  assert.equal(await agent.page.getByTestId('wallboard').count(), 0);

  // She goes available: the contact is offered to her, so it no longer waits.
  await agent.page.getByTestId('presence-select').selectOption('available');
  await until(sup.page, 'waiting', '0');
  await until(sup.page, 'offered', '1');
  const offer = agent.page.getByTestId('offer-accept');
  await offer.waitFor();
  await offer.click();
  await until(sup.page, 'assigned', '1');
  await until(sup.page, 'offered', '0');
  assert.equal(answeredBefore, '0');
  await until(sup.page, 'answered_today', '1');
  await until(sup.page, 'offered_today', '1');
  // The queue counts her busy now.
  const busy = cell(sup.page, 'agents').locator('[data-state="busy"]');
  await poll('one busy agent in the queue', async () => (await busy.innerText()) === '1', 20000);
  // Her row: available, one conversation against her capacity.
  const row = sup.page.locator(`[data-testid="wb-agent"][data-id="${env.AGENT_ID}"]`);
  await poll('the agent available on the board', async () => (await row.getByTestId('wb-presence').inputValue()) === 'available', 20000);
  await poll('her load', async () => /\b1 \/ \d+/.test(await row.locator('.wb-loads').innerText()), 20000);

  // Live, not polled: with nothing happening, the board reads the figures no more.
  let seen = -1;
  await poll('the board to settle (2 s without a read)', async () => {
    const quiet = statsReads.length === seen;
    seen = statsReads.length;
    if (!quiet) await sup.page.waitForTimeout(2000);
    return quiet;
  }, 30000);
  const settled = statsReads.length;
  await sup.page.waitForTimeout(6000);
  assert.equal(statsReads.length, settled, 'no re-reading on a timer while nothing happens');
  // When the browser started each read (its own clock: this process may hear of a request late).
  const started = await Promise.all(statsReads.map(async (r) => { await r.response(); return r.timing().startTime; }));
  started.sort((a, b) => a - b);
  for (let i = 1; i < started.length; i++) assert.ok(started[i] - started[i - 1] >= 950, `at most one read a second: ${started[i] - started[i - 1]} ms apart`);
  await assertTopbarOneRow(sup.page, 'the supervisor');
  await sup.page.screenshot({ path: join(ARTIFACT_DIR, 'wallboard.png') });
  await readmeShot(sup.page, 'wallboard.png');
  // The refusals asked for above are the only failed requests (the browser logs them too).
  const asked = /status of 403 \(Forbidden\) \S+\/api\/v1\/(stats\/queues|stats\/agents|reports\/summary)$/;
  const unasked = agent.problems.filter((p) => !asked.test(p));
  assert.deepEqual(unasked, [], 'no errors on the agent\'s console');
});

test('the supervisor sets the agent away and reassigns her conversation from the board', async () => {
  const row = sup.page.locator(`[data-testid="wb-agent"][data-id="${env.AGENT_ID}"]`);
  await row.getByTestId('wb-presence').selectOption('away');
  // Live chats go to someone who is there: the supervisor takes calls herself now.
  await sup.page.getByTestId('presence-select').selectOption('available');
  // Her own console follows.
  await poll('her presence to turn away', async () => (await agent.page.getByTestId('presence-select').inputValue()) === 'away', 20000);
  await row.getByTestId('wb-agent-open').click();
  const conv = sup.page.locator(`[data-testid="wb-agent-convs"][data-id="${env.AGENT_ID}"] [data-testid="wb-conv"][data-id="${env.CONVERSATION_ID}"]`);
  await conv.waitFor();
  await conv.getByTestId('wb-reassign-to').selectOption(`agent:${env.SUP_ID}`);
  const assigned = sup.page.waitForResponse((r) => r.url().endsWith(`/conversations/${env.CONVERSATION_ID}/assign`));
  // The agent is told (a toast that goes after 10 s: watched from before the click).
  const told = agent.page.getByTestId('taken-toast').waitFor();
  await conv.getByTestId('wb-reassign').click();
  assert.equal((await assigned).status(), 200);
  await told;
  await conv.waitFor({ state: 'detached' });
  const supRow = sup.page.locator(`[data-testid="wb-agent"][data-id="${env.SUP_ID}"]`);
  await poll('the conversation on the supervisor\'s row', async () => /\b1 \/ /.test(await supRow.locator('.wb-loads').innerText()), 20000);
  assert.deepEqual(sup.problems, [], 'no errors on the supervisor\'s console');
});

test('the full-screen wallboard has its own address, large type and no chrome', async () => {
  await sup.page.getByTestId('wb-wall-link').click();
  await sup.page.locator('.wallboard.wall').waitFor();
  assert.match(sup.page.url(), /#\/wallboard\?wall=1$/);
  assert.equal(await sup.page.locator('#topbar').count(), 0, 'no top bar on the wall');
  // A wall display opens the address directly.
  await sup.page.goto(env.APP_URL + '/console/#/wallboard?wall=1');
  await sup.page.reload();
  await sup.page.locator('.wallboard.wall').waitFor();
  assert.equal(await sup.page.locator('#topbar').count(), 0);
  await until(sup.page, 'assigned', '1');
  const size = await sup.page.locator('[data-testid="wb-queue"] [data-field="waiting"]').first().evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  assert.ok(size >= 20, `large type on the wall (${size}px)`);
  await assertColumnsOnScreen(sup.page, 'wb-queues', 'the wall');
  await sup.page.screenshot({ path: join(ARTIFACT_DIR, 'wallboard-wall.png') });
  await readmeShot(sup.page, 'wallboard-wall.png');
  await sup.page.keyboard.press('Escape');
  await sup.page.locator('#topbar').waitFor();
  assert.match(sup.page.url(), /#\/wallboard$/);
  // On a common laptop screen the board's and the supervisor page's queue tables are whole.
  await sup.page.setViewportSize({ width: 1366, height: 768 });
  await assertColumnsOnScreen(sup.page, 'wb-queues', 'the wallboard at 1366 px');
  await openView(sup.page, 'supervisor');
  await sup.page.getByTestId('stats-queues').locator('tbody tr').first().waitFor();
  await assertColumnsOnScreen(sup.page, 'stats-queues', 'the supervisor page at 1366 px');
  await sup.page.setViewportSize({ width: 1400, height: 900 });
  assert.deepEqual(sup.problems, [], 'no errors on the wall');
});

test('the report has today\'s row with the offered count, and a CSV that downloads', async () => {
  const page = sup.page;
  await page.getByTestId('view-reports').click();
  assert.match(page.url(), /#\/reports$/);
  await page.getByTestId('report-preset-today').click();
  await page.getByTestId('report-group').selectOption('day');
  const rows = page.getByTestId('report-row');
  await poll('today\'s row', async () => (await rows.count()) >= 1, 20000);
  // Days are the server's (reports.time_zone, Asia/Tehran by default).
  const today = ['UTC', 'Asia/Tehran', undefined].map((timeZone) => new Date().toLocaleDateString('sv-SE', { timeZone }));
  const keys = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
  const key = keys.find((k) => today.includes(k));
  assert.ok(key, `a row for today among ${keys}`);
  const todayRow = page.locator(`[data-testid="report-row"][data-key="${key}"]`);
  assert.equal((await todayRow.locator('[data-field="offered"]').innerText()).trim(), '1');
  assert.equal((await todayRow.locator('[data-field="answered"]').innerText()).trim(), '1');
  assert.match(await page.getByTestId('report-formula').innerText(), /answered within the queue's target ÷ offered/);
  await page.getByTestId('chart-volume').locator('rect.bar.answered').first().waitFor();
  const download = page.waitForEvent('download');
  await page.getByTestId('report-csv').click();
  const file = await (await download).path();
  const csv = readFileSync(file, 'utf8');
  const [header, ...lines] = csv.trim().split(/\r?\n/);
  const cols = header.split(',');
  assert.ok(cols.includes('offered'), header);
  const line = lines.map((l) => l.split(',')).find((l) => l.includes(key));
  assert.ok(line, `today in the CSV:\n${csv}`);
  assert.equal(line[cols.indexOf('offered')], '1');
  await assertColumnsOnScreen(page, 'report-table', 'reports at 1400 px');
  // A common laptop screen.
  await page.setViewportSize({ width: 1366, height: 768 });
  await assertColumnsOnScreen(page, 'report-table', 'reports at 1366 px');
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.screenshot({ path: join(ARTIFACT_DIR, 'report.png'), fullPage: true });
  await readmeShot(page, 'report.png');
  assert.deepEqual(sup.problems, [], 'no errors on the reports page');
});

test('"today" in the reports is the server\'s day whatever the browser\'s time zone', async () => {
  // At any hour one of these zones (UTC-12, UTC+14) is on another calendar day than the
  // server's reports zone (Asia/Tehran by default): a "today" taken from the browser's clock
  // would ask for a day with no contacts, or one that has not begun there.
  for (const zone of ['Etc/GMT+12', 'Pacific/Kiritimati']) {
    const p = await open(`zone-${zone.replace('/', '-')}`, 'en-US', [], zone);
    await signIn(p.page, env.SUP_EMAIL, env.AGENT_PASSWORD);
    const answered = p.page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/reports/summary');
    await p.page.getByTestId('view-reports').click();
    const serverZone = (await (await answered).json()).time_zone;
    await p.page.getByTestId('report-preset-today').click();
    await p.page.getByTestId('report-group').selectOption('day');
    const serverToday = new Date().toLocaleDateString('sv-SE', { timeZone: serverZone });
    const todayRow = p.page.locator(`[data-testid="report-row"][data-key="${serverToday}"]`);
    await poll(`the row of ${serverToday} (${serverZone}) in a browser on ${zone}`, async () => (await todayRow.count()) === 1, 20000);
    assert.equal((await todayRow.locator('[data-field="offered"]').innerText()).trim(), '1');
    assert.equal(await p.page.getByTestId('report-row').count(), 1, `only today (${zone})`);
    assert.deepEqual(p.problems, [], `no errors (${zone})`);
  }
});

test('the wallboard in Persian reads right to left with Persian digits', async () => {
  const fa = await open('fa', 'fa-IR');
  await signIn(fa.page, env.SUP_EMAIL, env.AGENT_PASSWORD);
  await fa.page.getByTestId('view-wallboard').click();
  await fa.page.getByTestId('wb-queues').waitFor();
  assert.equal(await fa.page.evaluate(() => document.documentElement.dir), 'rtl');
  assert.equal(await fa.page.getByTestId('wallboard').evaluate((el) => getComputedStyle(el).direction), 'rtl');
  assert.equal((await fa.page.locator('#wallboard h1').innerText()).trim(), 'تابلوی زنده');
  await poll('Persian digits', async () => (await text(fa.page, 'assigned')) === '۱', 20000);
  const headers = await fa.page.locator('[data-testid="wb-queues"] thead th').allInnerTexts();
  assert.ok(headers.includes('در انتظار') && headers.includes('سطح خدمت'), headers.join(' | '));
  // The first column (the queue's name) is at the right edge in RTL.
  const box = await fa.page.getByTestId('wb-queues').boundingBox();
  const first = await fa.page.locator('[data-testid="wb-queues"] thead th').first().boundingBox();
  assert.ok(first.x + first.width > box.x + box.width - 2, 'the queue column is on the right');
  await assertTopbarOneRow(fa.page, 'the Persian supervisor');
  await fa.page.screenshot({ path: join(ARTIFACT_DIR, 'wallboard-fa.png') });
  await readmeShot(fa.page, 'wallboard-fa.png');
  // The wall in Persian: its last column (at the left) on the screen too.
  await fa.page.getByTestId('wb-wall-link').click();
  await fa.page.locator('.wallboard.wall').waitFor();
  await assertColumnsOnScreen(fa.page, 'wb-queues', 'the Persian wall');
  await fa.page.keyboard.press('Escape');
  await fa.page.locator('#topbar').waitFor();

  // Reports in Persian: the period in Jalali; "this week" starts on Saturday; a typed Jalali day
  // (Persian digits) is asked for as its Gregorian date.
  const summary = (r) => new URL(r.url()).pathname === '/api/v1/reports/summary' && !new URL(r.url()).searchParams.get('channel');
  let asked = fa.page.waitForRequest(summary);
  await fa.page.getByTestId('view-reports').click();
  let from = new URL((await asked).url()).searchParams.get('from');
  assert.equal(new Date(from + 'T12:00:00Z').getUTCDay(), 6, `the week starts on Saturday (${from})`);
  // …written in Persian digits, as the rest of the Persian console.
  assert.match(await fa.page.getByTestId('report-from').inputValue(), /^۱۴[۰-۹]{2}\/[۰-۹]{2}\/[۰-۹]{2}$/);
  assert.equal(await fa.page.getByTestId('report-from').getAttribute('placeholder'), '۱۴۰۵/۰۱/۰۱');
  // The typed day's request: the week's own may be asked again meanwhile (the view refreshes
  // on live events), and that one is not the answer to the typing.
  const week = from;
  asked = fa.page.waitForRequest((r) => summary(r) && new URL(r.url()).searchParams.get('from') !== week);
  await fa.page.getByTestId('report-from').fill('۱۴۰۵/۰۹/۰۱');
  await fa.page.getByTestId('report-from').press('Tab');
  from = new URL((await asked).url()).searchParams.get('from');
  assert.equal(from, '2026-11-22', '1 Azar 1405 is 22 November 2026');
  await fa.page.getByTestId('report-row').first().waitFor();
  await assertColumnsOnScreen(fa.page, 'report-table', 'Persian reports at 1400 px');
  await fa.page.screenshot({ path: join(ARTIFACT_DIR, 'report-fa.png'), fullPage: true });
  assert.deepEqual(fa.problems, [], 'no errors in the Persian console');
});
