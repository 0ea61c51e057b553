// The queue editor: an admin sets the Support queue's service-level target to 1 s (from the
// default 20 s), its first-response target and its calendar; the wallboard shows the target,
// keeps the contact answered before the change within it (100 %) and counts the next chat —
// answered after about two seconds — outside it (50 %); the reports page says the same. A
// supervisor (Persian console) sees the queues read only; an agent has no such page. Started by
// `console::queues::the_queue_editor_sets_the_target_the_wallboard_measures`, which then checks
// the queue and today's report through the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, watchedPage, signIn, poll } from './console_support.mjs';

const wbCell = (page, field) => page.locator(`[data-testid="wb-queue"][data-id="${env.QUEUE_ID}"] [data-field="${field}"]`);
const wbText = async (page, field) => (await wbCell(page, field).innerText()).trim();
// The service level's digits (without the target under it), in either script.
const slDigits = async (page) => (await wbCell(page, 'service_level').getByTestId('wb-sl-value').innerText()).replace(/[^0-9۰-۹]/g, '');

test('an admin sets the service-level target that the wallboard and reports then measure', async () => {
  requireEnv(['APP_URL', 'ADMIN_EMAIL', 'SUP_EMAIL', 'SUP_ID', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'QUEUE_ID', 'CALENDAR_NAME']);
  const browser = await launch();
  const admin = await watchedPage(browser, 'en-GB');
  const sup = await watchedPage(browser, 'fa-IR');
  const agent = await watchedPage(browser, 'en-GB');
  try {
    // The agent: no queues page, and typing its address lands in the inbox.
    await signIn(agent.page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    assert.equal(await agent.page.getByTestId('view-queues').count(), 0, 'an agent has no queues page');
    await agent.page.goto(env.APP_URL + '/console/#/queues');
    await agent.page.locator('#listpane').waitFor();
    assert.equal(await agent.page.getByTestId('queues-view').count(), 0);

    // The supervisor, in Persian: the queues, read only, the target still the default.
    await signIn(sup.page, env.SUP_EMAIL, env.AGENT_PASSWORD);
    await sup.page.getByTestId('view-queues').click();
    assert.match(sup.page.url(), /#\/queues$/);
    const supRow = sup.page.locator(`[data-testid="queue-row"][data-id="${env.QUEUE_ID}"]`);
    await supRow.waitFor();
    assert.equal((await supRow.locator('[data-field="service_level_seconds"]').innerText()).trim(), 'پیش‌فرض');
    assert.equal((await supRow.locator('[data-field="channels"]').innerText()).trim(), 'گفتگوی زنده');
    await sup.page.getByTestId('queues-readonly').waitFor();
    assert.equal(await sup.page.getByTestId('queue-edit').count(), 0, 'a supervisor edits no queue');
    assert.equal(await sup.page.getByTestId('queue-new').count(), 0);
    // The wallboard: the chat answered after ~2 s is within the default target, no target shown.
    await sup.page.getByTestId('view-wallboard').click();
    await poll('service level 100 %', async () => (await slDigits(sup.page)) === '۱۰۰', 20000);
    assert.equal(await wbCell(sup.page, 'service_level').getByTestId('wb-sl-target').count(), 0);

    // The admin edits the queue.
    await signIn(admin.page, env.ADMIN_EMAIL, env.AGENT_PASSWORD);
    await admin.page.getByTestId('view-queues').click();
    const row = admin.page.locator(`[data-testid="queue-row"][data-id="${env.QUEUE_ID}"]`);
    await row.getByTestId('queue-edit').click();
    const form = admin.page.getByTestId('queue-form');
    assert.equal(await form.getByTestId('queue-name').inputValue(), 'Support');
    assert.equal(await form.locator('[data-channel="chat"]').isChecked(), true);
    assert.equal(await form.locator('[data-channel="email"]').isChecked(), false);
    assert.equal(await form.getByTestId('queue-service-level-seconds').inputValue(), '');
    await form.getByTestId('queue-service-level-seconds').fill('1');
    await form.getByTestId('queue-first-response-minutes').fill('30');
    // Business time only without a calendar is refused before anything is sent.
    await form.getByTestId('queue-business-time-only').check();
    await form.getByTestId('queue-save').click();
    assert.match(await form.getByTestId('queue-error').innerText(), /calendar/);
    await form.getByTestId('queue-business-time-only').uncheck();
    await form.getByTestId('queue-calendar').selectOption({ label: env.CALENDAR_NAME });
    // A priority out of range is refused too.
    await form.getByTestId('queue-priority').fill('5000');
    await form.getByTestId('queue-save').click();
    assert.match(await form.getByTestId('queue-error').innerText(), /Priority/);
    await form.getByTestId('queue-priority').fill('0');
    await form.getByTestId('queue-serve-by-value').check();
    const saved = admin.page.waitForResponse((r) => new URL(r.url()).pathname === `/api/v1/queues/${env.QUEUE_ID}` && r.request().method() === 'PATCH');
    await form.getByTestId('queue-save').click();
    assert.equal((await saved).status(), 200);
    await poll('the list shows the new target', async () => (await row.locator('[data-field="service_level_seconds"]').innerText()).trim() === '1 s', 10000);
    assert.equal((await row.locator('[data-field="first_response_minutes"]').innerText()).trim(), '30 min');
    assert.equal((await row.locator('[data-field="calendar"]').innerText()).trim(), env.CALENDAR_NAME);

    // The admin's wallboard shows the target; the contact measured before still counts within.
    await admin.page.getByTestId('view-wallboard').click();
    await wbCell(admin.page, 'service_level').getByTestId('wb-sl-target').waitFor();
    assert.equal((await wbCell(admin.page, 'service_level').getByTestId('wb-sl-target').innerText()).trim(), 'target 1 s');
    assert.equal(await slDigits(admin.page), '100');

    // The next chat waits about two seconds before the supervisor takes it: over the new target.
    const conv = await sup.page.evaluate(async (queue) => {
      const post = async (path, body) => {
        const r = await fetch('/api/v1' + path, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
        return r.json();
      };
      const c = await post('/conversations', { customer: { email: 'second@example.com' }, subject: 'second', body: 'hello', channel: 'chat', queue_id: queue });
      return c.id;
    }, env.QUEUE_ID);
    await admin.page.waitForTimeout(2200);
    const assigned = await sup.page.evaluate(async ([id, me]) => {
      const r = await fetch(`/api/v1/conversations/${id}/assign`, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent_id: me }) });
      return r.status;
    }, [conv, env.SUP_ID]);
    assert.equal(assigned, 200);
    await poll('answered today 2', async () => (await wbText(admin.page, 'answered_today')) === '2', 20000);
    await poll('service level 50 %', async () => (await slDigits(admin.page)) === '50', 20000);
    assert.equal(await wbCell(admin.page, 'service_level').getAttribute('class').then((c) => /\bred\b/.test(c || '')), true, 'below the red threshold');
    // The Persian wallboard of the supervisor agrees, target in Persian digits.
    await poll('۵۰٪ on the Persian wallboard', async () => (await slDigits(sup.page)) === '۵۰', 20000);
    assert.equal((await wbCell(sup.page, 'service_level').getByTestId('wb-sl-target').innerText()).trim(), 'هدف ۱ ثانیه');
    await admin.page.screenshot({ path: join(ARTIFACT_DIR, 'queue-target-wallboard.png') });

    // Today's report by queue: two offered, one within target.
    await admin.page.getByTestId('view-reports').click();
    await admin.page.getByTestId('report-group').selectOption('queue');
    const repRow = admin.page.locator(`[data-testid="report-row"][data-key="${env.QUEUE_ID}"]`);
    await poll('the report row', async () => (await repRow.count()) === 1, 20000);
    const cells = await repRow.locator('td').allInnerTexts();
    assert.ok(cells.some((c) => /^50\s?%$/.test(c.trim())), `service level 50 % in ${cells}`);

    await admin.page.getByTestId('view-queues').click();
    await admin.page.getByTestId('queues-table').waitFor();
    await admin.page.screenshot({ path: join(ARTIFACT_DIR, 'queues-admin.png') });
    assert.deepEqual(admin.problems, [], 'no console errors or failed requests (admin)');
    assert.deepEqual(sup.problems, [], 'no console errors or failed requests (supervisor)');
    assert.deepEqual(agent.problems, [], 'no console errors or failed requests (agent)');
  } catch (e) {
    await admin.page.screenshot({ path: join(ARTIFACT_DIR, 'queues-failure.png') }).catch(() => {});
    await sup.page.screenshot({ path: join(ARTIFACT_DIR, 'queues-failure-sup.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
