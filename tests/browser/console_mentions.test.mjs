// @mentions, two agents in two browsers: Nima types "@سا" in an internal note, picks سارا
// from the list and saves the note; Sara's console (Persian) shows who mentioned her and the
// note's text, and its button opens the conversation with the note in it.
// Started by `console::mentions::a_mention_reaches_the_colleagues_screen_in_a_real_browser`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, watchedPage, signIn, openFromTab } from './console_support.mjs';

test('a mention in a note pops up on the mentioned colleague\'s console and opens the conversation', async () => {
  requireEnv(['APP_URL', 'AUTHOR_EMAIL', 'MENTIONED_EMAIL', 'AGENT_PASSWORD', 'CONVERSATION_ID']);
  const browser = await launch();
  const author = await watchedPage(browser, 'en-GB');
  const sara = await watchedPage(browser, 'fa-IR');
  try {
    await signIn(author.page, env.AUTHOR_EMAIL, env.AGENT_PASSWORD);
    await signIn(sara.page, env.MENTIONED_EMAIL, env.AGENT_PASSWORD);
    await openFromTab(author.page, 'open', env.CONVERSATION_ID);
    await author.page.getByTestId('mode-note').click();
    const box = author.page.getByTestId('composer');
    await box.pressSequentially('Please check @سا');
    const option = author.page.getByTestId('mention-option');
    await option.first().waitFor();
    assert.deepEqual(await option.locator('.title').allTextContents(), ['سارا'], 'only agents whose name starts so');
    await box.press('Enter');
    assert.equal(await box.inputValue(), 'Please check @سارا ');
    assert.equal(await author.page.getByTestId('mention-picker').isHidden(), true);
    await box.pressSequentially('before noon');
    const saved = author.page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/conversations/${env.CONVERSATION_ID}/messages`));
    await author.page.getByTestId('send').click();
    const res = await saved;
    assert.equal(res.status(), 201);
    assert.equal(JSON.parse(res.request().postData()).mentions.length, 1);

    // Sara's screen changes without a reload.
    const told = sara.page.getByTestId('mention-toast');
    await told.waitFor();
    assert.ok((await told.innerText()).includes('Nima در'), await told.innerText());
    assert.equal(await told.getByTestId('mention-excerpt').innerText(), 'Please check @سارا before noon');
    await sara.page.screenshot({ path: join(ARTIFACT_DIR, 'console-mention.png') });
    await told.getByTestId('mention-open').click();
    await sara.page.locator('#convpane [data-testid="message"]', { hasText: 'Please check @سارا before noon' }).waitFor();
    assert.equal(new URL(sara.page.url()).hash.endsWith(env.CONVERSATION_ID), true, sara.page.url());
    assert.deepEqual(author.problems, [], 'no errors on the author\'s console');
    assert.deepEqual(sara.problems, [], 'no errors on Sara\'s console');
  } catch (e) {
    await author.page.screenshot({ path: join(ARTIFACT_DIR, 'console-mention-author-failure.png') }).catch(() => {});
    await sara.page.screenshot({ path: join(ARTIFACT_DIR, 'console-mention-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
