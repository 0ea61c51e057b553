// Two agents, two browsers: Maryam sees Reza open and type in her conversation (collision
// detection), then Reza takes it. The console asks Reza first;
// Maryam's screen changes live — the conversation leaves her "Mine" list and she is told who
// took it. Started by `console::take::taking_a_colleagues_conversation_in_two_real_browsers`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, watchedPage, signIn, row } from './console_support.mjs';

test('taking a colleague\'s conversation asks first and updates the colleague\'s screen live', async () => {
  requireEnv(['APP_URL', 'OWNER_EMAIL', 'TAKER_EMAIL', 'AGENT_PASSWORD', 'CONVERSATION_ID', 'TAKER_NAME']);
  const browser = await launch();
  const owner = await watchedPage(browser, 'fa-IR');
  const taker = await watchedPage(browser, 'en-GB');
  try {
    await signIn(owner.page, env.OWNER_EMAIL, env.AGENT_PASSWORD);
    await signIn(taker.page, env.TAKER_EMAIL, env.AGENT_PASSWORD);
    // Maryam's "Mine" holds the conversation; she has it open.
    await row(owner.page, env.CONVERSATION_ID).click();
    await owner.page.getByTestId('composer').waitFor();

    // Reza opens it from "All open" and presses Take: asked first, cancelling changes nothing.
    await taker.page.getByTestId('tab-open').click();
    await row(taker.page, env.CONVERSATION_ID).click();
    // Collision: Maryam sees Reza viewing it, then typing in it.
    const collision = owner.page.getByTestId('collision');
    await collision.filter({ hasText: `${env.TAKER_NAME} این گفتگو را می‌بیند` }).waitFor();
    await taker.page.getByTestId('composer').pressSequentially('Hi');
    await collision.filter({ hasText: `${env.TAKER_NAME} در حال نوشتن پاسخ است` }).waitFor();
    await taker.page.getByTestId('assign-me').click();
    await taker.page.getByTestId('take-confirm').waitFor();
    await taker.page.getByTestId('take-confirm-no').click();
    assert.equal(await taker.page.getByTestId('take-confirm').count(), 0);
    await taker.page.waitForTimeout(300);
    assert.equal(await row(owner.page, env.CONVERSATION_ID).count(), 1, 'cancelled: still Maryam\'s');

    await taker.page.getByTestId('assign-me').click();
    const assigned = taker.page.waitForResponse((r) => r.url().endsWith(`/conversations/${env.CONVERSATION_ID}/assign`));
    await taker.page.getByTestId('take-confirm-yes').click();
    assert.equal((await assigned).status(), 200);
    await taker.page.getByTestId('assignee').filter({ hasText: env.TAKER_NAME }).waitFor();

    // Maryam's screen, without a reload: the row leaves "Mine", and she is told who took it.
    await row(owner.page, env.CONVERSATION_ID).waitFor({ state: 'detached', timeout: 10000 });
    const told = owner.page.getByTestId('taken-toast');
    await told.waitFor();
    assert.ok((await told.innerText()).includes(env.TAKER_NAME));
    await owner.page.screenshot({ path: join(ARTIFACT_DIR, 'console-taken.png') });
    assert.deepEqual(owner.problems, [], 'no errors on the owner\'s console');
    assert.deepEqual(taker.problems, [], 'no errors on the taker\'s console');
  } catch (e) {
    await owner.page.screenshot({ path: join(ARTIFACT_DIR, 'console-take-owner-failure.png') }).catch(() => {});
    await taker.page.screenshot({ path: join(ARTIFACT_DIR, 'console-take-taker-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
