// Attachments and HTML email in the console, in a real browser (English UI):
// - a visitor's image sent from the widget is shown to the agent (the image really loads), and
//   the web address the visitor typed is a link that opens in a new tab;
// - the agent sends an image into the chat from the composer;
// - an email's PDF is listed with a working download link; the agent replies with a file
//   (staged, one removed, sent as one reply, listed and downloadable); its `cid:` logo shows after
//   "Show images"; the Persian HTML body (`<body dir="rtl">`) reads right to left; the quoted
//   history is folded; the frame is as tall as the message (it grows when the quote unfolds,
//   shrinks when it folds, and a block sized to the window does not make it grow without end)
//   and a link in it opens in a new tab.
// Started by the Rust test `console::files::attachments_and_persian_html_email_in_a_real_browser`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env, ARTIFACT_DIR, requireEnv, launch, poll, watchedPage, signIn, openFromTab, loadedWidth, readmeShot } from './console_support.mjs';

const AGENT_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAUAAAAFCAIAAAACDbGyAAAAEUlEQVR4nGMQqTiBjBgo5AMAHychNbRPxAYAAAAASUVORK5CYII=', 'base64');

test('an agent sees and sends chat images, downloads an email PDF and reads a Persian email right to left', async () => {
  requireEnv(['APP_URL', 'AGENT_EMAIL', 'AGENT_PASSWORD', 'CHAT_CONVERSATION_ID', 'EMAIL_CONVERSATION_ID', 'PDF_NAME', 'QUOTED', 'EMAIL_SUBJECT', 'LINK_URL', 'LINK_TEXT']);
  const browser = await launch();
  const { page, problems } = await watchedPage(browser, 'en-GB');
  try {
    await signIn(page, env.AGENT_EMAIL, env.AGENT_PASSWORD);
    assert.equal(await page.locator('html').getAttribute('dir'), 'ltr');

    // The visitor's image, loaded for real.
    await openFromTab(page, 'open', env.CHAT_CONVERSATION_ID);
    const visitorImg = page.locator('[data-testid="message"].customer [data-testid="attachment-image"]');
    await visitorImg.waitFor();
    await poll('the visitor image to load', async () => (await loadedWidth(visitorImg)) === 8);
    assert.equal(await visitorImg.getAttribute('alt'), 'receipt.png');

    // The visitor's address is a link (without the sentence's full stop) that opens in a new tab.
    const said = page.locator('[data-testid="message"].customer [data-testid="message-link"]');
    await said.waitFor();
    assert.equal(await said.innerText(), env.LINK_URL);
    const [opened] = await Promise.all([page.context().waitForEvent('page'), said.click()]);
    await opened.waitForLoadState();
    assert.equal(opened.url(), env.LINK_URL);
    await opened.close();

    // The file button sits at the composer's start and Send at its end (the button was centred).
    const [foot, attachBtn, sendBtn] = await Promise.all(['.composer-foot', '.composer-foot label.attach', '[data-testid="send"]']
      .map((sel) => page.locator(sel).boundingBox()));
    assert.ok(attachBtn.x - foot.x < 4, `the file button ${attachBtn.x - foot.x}px from the start`);
    assert.ok(foot.x + foot.width - (sendBtn.x + sendBtn.width) < 4, 'Send at the end');

    // The agent sends an image into the chat.
    const sent = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/channels/chat/conversations/${env.CHAT_CONVERSATION_ID}/attachments`));
    await page.getByTestId('attach-file').setInputFiles({ name: 'label.png', mimeType: 'image/png', buffer: AGENT_PNG });
    assert.equal((await sent).status(), 201);
    const agentImg = page.locator('[data-testid="message"].agent [data-testid="attachment-image"]');
    await agentImg.waitFor();
    await poll('the sent image to load', async () => (await loadedWidth(agentImg)) === 5);

    // The email: PDF listed with a download link that works.
    await openFromTab(page, 'open', env.EMAIL_CONVERSATION_ID);
    const link = page.locator('[data-testid="attachment-link"]', { hasText: env.PDF_NAME });
    await link.waitFor();
    assert.equal(await page.locator('[data-testid="attachment-link"]').count(), 1, 'the inline logo is in the frame, not in the list');
    const href = await link.getAttribute('href');
    const got = await page.evaluate(async (u) => {
      const r = await fetch(u, { credentials: 'same-origin' });
      const b = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, type: r.headers.get('content-type'), head: String.fromCharCode(...b.slice(0, 5)) };
    }, href);
    assert.deepEqual(got, { status: 200, type: 'application/pdf', head: '%PDF-' });

    // The Persian HTML body reads right to left; the quote is folded.
    const frame = page.frameLocator('[data-testid="email-frame"]');
    const para = frame.locator('p').first();
    await para.waitFor();
    assert.equal(await para.evaluate((el) => getComputedStyle(el).direction), 'rtl');
    assert.equal(await frame.locator('html').getAttribute('dir'), 'rtl');
    const quoted = frame.locator('blockquote', { hasText: env.QUOTED });
    assert.equal(await quoted.count(), 1);
    assert.equal(await quoted.isVisible(), false, 'quoted history is folded');
    assert.equal(await frame.locator('details.quoted > summary').isVisible(), true);

    // The frame is as tall as the message: nothing to scroll inside it, no empty box below.
    const sizes = () => page.getByTestId('email-frame').evaluate((f) => {
      const html = f.contentDocument.documentElement;
      return { frame: f.clientHeight, message: Math.ceil(html.getBoundingClientRect().height) };
    });
    const fitted = async (what, ok) => {
      let last;
      await poll(what, async () => { last = await sizes(); return Math.abs(last.frame - last.message) <= 1 && ok(last); });
      return last;
    };
    const folded = await fitted('the frame to fit the message', (s) => s.message > 40);
    assert.ok(folded.frame < 160, `a three-line message in a ${folded.frame}px frame`);
    await frame.locator('details.quoted > summary').click();
    const unfolded = await fitted('the frame to grow with the quote', (s) => s.frame > folded.frame + 10);
    assert.equal(await quoted.isVisible(), true);
    await frame.locator('details.quoted > summary').click();
    await fitted('the frame to shrink with the quote', (s) => s.frame < unfolded.frame);

    // A link opens in a new tab, outside the frame.
    const [tab] = await Promise.all([page.context().waitForEvent('page'), frame.getByText(env.LINK_TEXT).click()]);
    await tab.waitForLoadState();
    assert.equal(tab.url(), env.LINK_URL);
    assert.equal((await tab.locator('body').textContent()).trim(), 'ok');
    await tab.close();

    // The cid: logo is blank until "Show images", then loads.
    const logo = frame.locator('img[alt="logo"]');
    assert.equal(await logo.evaluate((el) => el.naturalWidth), 0);
    await page.getByTestId('show-images').click();
    await poll('the inline logo to load', async () => {
      const l = page.frameLocator('[data-testid="email-frame"]').locator('img[alt="logo"]');
      return (await l.count()) === 1 && (await loadedWidth(l)) === 8;
    });
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-email.png') });
    await readmeShot(page, 'console-en-email.png');

    // A reply with files: staged as chips (one removed again), sent as one reply, then
    // listed on the agent's message with a download link that returns the same bytes.
    const PDF = Buffer.from('%PDF-1.4\n%reply\n1 0 obj <<>> endobj\n%%EOF\n');
    await page.getByTestId('attach-file').setInputFiles([
      { name: 'فاکتور.pdf', mimeType: 'application/pdf', buffer: PDF },
      { name: 'wrong.txt', mimeType: 'text/plain', buffer: Buffer.from('oops') },
    ]);
    await poll('two staged files', async () => (await page.getByTestId('staged-file').count()) === 2);
    await page.getByTestId('staged-file').filter({ hasText: 'wrong.txt' }).getByTestId('unstage-file').click();
    assert.deepEqual(await page.getByTestId('staged-file').allTextContents(), [`فاکتور.pdf (${PDF.length} bytes)×`]);
    await page.getByTestId('composer').fill('The invoice is attached.');
    const replied = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/channels/email/conversations/${env.EMAIL_CONVERSATION_ID}/reply`));
    await page.getByTestId('send').click();
    assert.equal((await replied).status(), 201);
    await poll('the staged list to empty', async () => (await page.getByTestId('staged-file').count()) === 0);
    const sentLink = page.locator('[data-testid="message"].agent [data-testid="attachment-link"]', { hasText: 'فاکتور.pdf' });
    await sentLink.waitFor();
    const sentBack = await page.evaluate(async (u) => {
      const r = await fetch(u, { credentials: 'same-origin' });
      return new TextDecoder().decode(await r.arrayBuffer());
    }, await sentLink.getAttribute('href'));
    assert.equal(sentBack, PDF.toString());

    // The URL names the tab and the conversation: a reload opens the same place.
    assert.equal(new URL(page.url()).hash, `#/open/${env.EMAIL_CONVERSATION_ID}`);
    await page.reload();
    await page.getByTestId('conversation-subject').filter({ hasText: env.EMAIL_SUBJECT }).waitFor();
    assert.equal(await page.getByTestId('tab-open').getAttribute('aria-selected'), 'true');
    assert.deepEqual(problems, [], 'no console errors or failed requests');
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACT_DIR, 'console-files-failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
