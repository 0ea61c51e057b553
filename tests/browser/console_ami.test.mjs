// The PBX itself (a scripted Asterisk speaking AMI) rings extension 201: the agent's console
// pops up the caller, the profile opens from the pop-up, and its call button has the PBX ring
// the agent's phone to call the customer back (click-to-call).
// Started by `voice::ami_browser::a_ringing_pbx_call_pops_up_and_the_agent_calls_back_in_a_real_browser`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, watchedPage, signIn } from './console_support.mjs';

test('a call rung by the PBX pops up, and the profile calls the customer back', async () => {
  requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'CUSTOMER_NAME']);
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'en-US');
  try {
    await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    // The Rust side waits for this console's socket, then has the PBX ring extension 201.
    const pop = page.getByTestId('call-toast');
    await pop.waitFor({ timeout: 20000 });
    await pop.locator(`[data-testid="call-name"]:text-is("${env.CUSTOMER_NAME}")`).waitFor();
    assert.equal((await pop.getByTestId('call-from').textContent()).trim(), '+989121234567');
    await pop.getByTestId('call-open').click();
    await page.locator(`[data-testid="customer-name"]:text-is("${env.CUSTOMER_NAME}")`).waitFor();
    const dial = page.getByTestId('identities').getByTestId('call-dial');
    assert.equal(await dial.count(), 1, 'one phone number, one call button');
    await dial.click();
    await page.getByTestId('call-dialing').waitFor({ timeout: 10000 });
    // The call's notice leaves the profile it opened readable: no overlap with the name.
    const name = await page.getByTestId('customer-name').boundingBox();
    await page.locator('.toast').first().waitFor();
    const pane = await page.locator('#custpane').boundingBox();
    for (const t of await page.locator('.toast').all()) {
      const b = await t.boundingBox();
      const apart = b.y >= name.y + name.height || b.y + b.height <= name.y || b.x >= name.x + name.width || b.x + b.width <= name.x;
      assert.ok(apart, 'a notice does not cover the customer\'s name');
      assert.ok(b.x >= pane.x, 'a notice stays over the customer panel, off the conversation and its composer');
    }
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-ami-call.png') });
    assert.deepEqual(problems, [], 'no console errors or failed requests');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-ami-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
