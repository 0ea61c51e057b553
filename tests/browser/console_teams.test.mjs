// Access by team in the console: with the switch on, agent A (team Sales) does not see the
// Support queue's conversation in the inbox nor is offered it; agent B (team Support) sees it
// and is offered it; an admin creates a team on the Teams page. Started by
// `console::teams::access_by_team_in_a_real_browser`, which then checks the stored team.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openView, env, ARTIFACT_DIR, requireEnv, launch, watchedPage, signIn, row, assertTopbarOneRow } from './console_support.mjs';

test('agents see and are offered their teams\' work; an admin makes a team', async () => {
  requireEnv(['APP_URL', 'A_EMAIL', 'B_EMAIL', 'ADMIN_EMAIL', 'AGENT_PASSWORD', 'SALES_CONV', 'SUPPORT_CONV', 'TEAM_NAME']);
  const browser = await launch();
  const a = await watchedPage(browser, 'en-US');
  const b = await watchedPage(browser, 'en-US');
  const admin = await watchedPage(browser, 'en-US');
  try {
    await signIn(a.page, env.A_EMAIL, env.AGENT_PASSWORD);
    await a.page.getByTestId('tab-open').click();
    await row(a.page, env.SALES_CONV).waitFor();
    assert.equal(await row(a.page, env.SUPPORT_CONV).count(), 0, 'A does not see Support\'s conversation');
    assert.equal(await a.page.getByTestId('offer').count(), 0, 'A is offered nothing');

    await signIn(b.page, env.B_EMAIL, env.AGENT_PASSWORD);
    await b.page.getByTestId('tab-open').click();
    await row(b.page, env.SUPPORT_CONV).waitFor();
    assert.equal(await row(b.page, env.SALES_CONV).count(), 0, 'B does not see Sales\' conversation');
    await b.page.getByTestId('offer').waitFor();
    assert.equal(await a.page.getByTestId('offer').count(), 0, 'still nothing offered to A');

    // An admin's bar, with every view, on a 1280px laptop: one row; the last view is reached
    // (under "More").
    await admin.page.setViewportSize({ width: 1280, height: 900 });
    await signIn(admin.page, env.ADMIN_EMAIL, env.AGENT_PASSWORD);
    await assertTopbarOneRow(admin.page, 'the admin at 1280px');
    await openView(admin.page, 'teams');
    await admin.page.getByTestId('teams-table').waitFor();
    // The bar is drawn again for the new view: its tab is still in sight.
    const tab = await admin.page.getByTestId('view-teams').boundingBox();
    const views = await admin.page.locator('.views').boundingBox();
    assert.ok(tab.x >= views.x - 1 && tab.x + tab.width <= views.x + views.width + 1, 'the current view\'s tab shows');
    assert.equal(await admin.page.getByTestId('teams-row').count(), 2);
    assert.equal(await admin.page.getByTestId('teams-enabled').isChecked(), true);
    await admin.page.getByTestId('teams-new').click();
    await admin.page.getByTestId('teams-name').fill(env.TEAM_NAME);
    await admin.page.getByTestId('teams-queue-choices').getByLabel('Billing').check();
    await admin.page.getByTestId('teams-member-choices').getByLabel('a', { exact: true }).check();
    const saved = admin.page.waitForResponse((r) => r.url().endsWith('/api/v1/teams') && r.request().method() === 'POST');
    await admin.page.getByTestId('teams-save').click();
    assert.equal((await saved).status(), 201);
    const created = admin.page.getByTestId('teams-row').filter({ hasText: env.TEAM_NAME });
    await created.waitFor();
    assert.equal((await created.getByTestId('teams-queues').innerText()).trim(), 'Billing');
    assert.equal((await created.getByTestId('teams-members').innerText()).trim(), 'a');
    await admin.page.screenshot({ path: join(ARTIFACT_DIR, 'teams.png') });
    for (const p of [a, b, admin]) assert.deepEqual(p.problems, [], 'no console errors or failed requests');
  } catch (e) {
    await admin.page.screenshot({ path: join(ARTIFACT_DIR, 'teams-failure.png') }).catch(() => {});
    await a.page.screenshot({ path: join(ARTIFACT_DIR, 'teams-failure-a.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
