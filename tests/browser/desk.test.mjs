// The support desk's files, names and accessibility (issue 19): a visitor on a hostile site pastes
// a screenshot into the widget, the operator sees it in the console and opens it, the console sends
// a file back; files over the limit are refused before any upload; "joined" shows live in the
// widget; the console names anonymous visitors without their guest id; axe-core finds nothing
// serious in either. One stack, one browser and one host site for this file; every test uses its
// own visitors and operators (own browser contexts).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { assertClean, axeSerious, guard, launchBrowser, newPage, png, screenshot, slowUploads, startStack, waitFor } from './helpers.mjs';
import { W, acceptVisitor, consoleSignIn, evidence, inWidget, startConversation, startSite, waitConsoleMessage, waitWidgetMessage, waitWidgetState, widgetSend } from './desk.mjs';
import { friendlyName } from '../../web/sdk/names.js';
import { UPLOAD_LIMITS, describeLimits, refuseFile } from '../../web/sdk/files.js';

let stack;
let browser;
let site;

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  site = await startSite(stack);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await site?.close();
});

/** Requests for an upload URL (`POST /chats/{id}/uploads`) a page made. */
function countUploads(user) {
  const seen = [];
  user.page.on('request', (r) => {
    if (r.method() === 'POST' && /\/chats\/[^/]+\/uploads$/.test(new URL(r.url()).pathname)) seen.push(r.url());
  });
  return seen;
}

/** A download the page starts with `click`: its bytes. */
async function downloaded(page, click) {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: download.suggestedFilename(), bytes: await readFile(await download.path()) };
}

/** Pastes files into an element as a clipboard paste would (a screenshot from the clipboard). */
async function paste(page, selector, files) {
  await page.evaluate(
    ({ selector, files }) => {
      const dt = new DataTransfer();
      for (const f of files) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
      const target = document.querySelector(selector.host)?.shadowRoot?.querySelector(selector.inner) ?? document.querySelector(selector.inner);
      target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true, composed: true }));
    },
    { selector, files: files.map((f) => ({ name: f.name, type: f.type, b64: f.buffer.toString('base64') })) },
  );
}

/** Drops files on an element (dragenter, dragover, drop); returns whether the drop hint showed. */
async function drop(page, selector, hint, files) {
  return page.evaluate(
    ({ selector, hint, files }) => {
      const dt = new DataTransfer();
      for (const f of files) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
      const target = document.querySelector(selector);
      target.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      const shown = !document.querySelector(hint).hidden;
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      return shown && document.querySelector(hint).hidden;
    },
    { selector, hint, files: files.map((f) => ({ name: f.name, type: f.type, b64: f.buffer.toString('base64') })) },
  );
}

/** A visitor on the host site (with `query`) who opens the widget and writes `text`; the operator accepts. */
const conversation = (op, query, text) => startConversation(browser, site, op, query, text);
const accept = acceptVisitor;

describe('support desk: files, names, accessibility', { timeout: 180_000 }, () => {
  test(
    'files both ways: a pasted screenshot reaches the console and opens; the console drops a file back; too large is refused before upload',
    guard(async () => {
      let visitor;
      let op;
      await evidence('files', () => ({ visitor, op }))(async () => {
        op = await newPage(browser, `${stack.origin}/console/`, { viewport: { width: 1280, height: 800 } });
        await consoleSignIn(op, 'Olga', 'olga');
        visitor = await conversation(op, { name: 'Vera', maxFileMb: '2' }, 'The checkout page shows an error');
        const uploads = countUploads(visitor);
        const vp = visitor.page;
        await accept(op, visitor, 'The checkout page shows an error');

        // The paperclip is there once the conversation is, with the limits in words.
        await vp.waitForSelector(`${W} .attach:not([hidden])`);
        assert.equal(await inWidget(vp, (root) => root.getElementById('cw-limits').textContent), describeLimits({ ...UPLOAD_LIMITS, maxBytes: 2e6 }));
        assert.match(await inWidget(vp, (root) => root.getElementById('cw-limits').textContent), /, up to 2 MB$/);

        // A screenshot pasted into the composer: a local preview, the upload's progress, Cancel.
        const shot = png(400, 300);
        const fast = await slowUploads(visitor, 120_000);
        await paste(vp, { host: W, inner: 'textarea' }, [{ name: 'screenshot.png', type: 'image/png', buffer: shot }]);
        await vp.waitForFunction((tag) => {
          const p = document.querySelector(tag).shadowRoot.querySelector('li.msg.mine .upload progress');
          return p && p.value > 0 && p.value < 100;
        }, W, { timeout: 20_000 });
        assert.equal(await inWidget(vp, (root) => !!root.querySelector('li.msg.mine .cancel-upload')), true, 'Cancel while uploading');
        assert.match(await inWidget(vp, (root) => root.querySelector('li.msg.mine .thumb img').src), /^blob:/, 'the local file, shown at once');
        await screenshot(vp, 'desk-widget-upload-progress');
        await fast();
        await vp.waitForFunction((tag) => document.querySelector(tag).shadowRoot.querySelector('li.msg.mine[data-seq] .thumb img'), W, { timeout: 20_000 });

        // The operator sees the thumbnail (its bytes through the members-only download) and opens it.
        await op.page.waitForFunction(() => {
          const img = document.querySelector('#messages li.msg:not(.mine) .thumb img');
          return img && img.complete && img.naturalWidth === 400;
        }, null, { timeout: 20_000 });
        assert.match(await op.page.getAttribute('#messages li.msg:not(.mine) .thumb img', 'src'), /^blob:/);
        assert.equal(await op.page.textContent('#messages li.msg:not(.mine) .who'), 'Vera');
        await screenshot(op.page, 'desk-console-thumbnail');
        const opened = await downloaded(op.page, () => op.page.click('#messages li.msg:not(.mine) .thumb'));
        assert.equal(opened.name, 'screenshot.png');
        assert.ok(opened.bytes.equals(shot), 'the operator downloads exactly the bytes the visitor pasted');

        // The console drops a file on the conversation: the widget shows its card and downloads it.
        const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(2336, 32)]);
        assert.equal(await drop(op.page, '#conv', '#drop-hint', [{ name: 'Invoice <42>.pdf', type: 'application/pdf', buffer: pdf }]), true, 'the drop hint shows while dragging');
        await vp.waitForFunction((tag) => document.querySelector(tag).shadowRoot.querySelector('li.msg:not(.mine) .file-card:not([disabled])'), W, { timeout: 20_000 });
        const card = await inWidget(vp, (root) => {
          const c = root.querySelector('li.msg:not(.mine) .file-card');
          return { name: c.querySelector('.file-name').textContent, size: c.querySelector('.file-size').textContent, label: c.getAttribute('aria-label'), who: c.closest('li').querySelector('.who').textContent };
        });
        assert.deepEqual(card, { name: 'Invoice <42>.pdf', size: '2.3 KB · PDF', label: 'Download Invoice <42>.pdf, 2.3 KB', who: 'Olga' });
        assert.equal(await inWidget(vp, (root) => root.querySelectorAll('.list b, .list img:not(.thumb img)').length), 0, 'the file name is text');
        await waitConsoleMessage(op.page, '', { mine: true, status: 'read' }).catch(() => {}); // (its ticks; not what this test is about)
        const back = await downloaded(vp, () => vp.click(`${W} li.msg:not(.mine) .file-card`));
        assert.ok(back.bytes.equals(pdf), 'the visitor downloads the bytes the operator sent');
        await screenshot(vp, 'desk-widget-file-card');

        // Too large for this site's 2 MB: said at once, with the limit, no Retry, nothing uploaded.
        assert.equal(uploads.length, 1, 'one upload so far (the screenshot)');
        const [chooser] = await Promise.all([vp.waitForEvent('filechooser'), vp.click(`${W} .attach`)]);
        await chooser.setFiles([{ name: 'holiday.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(2_500_000, 37) }]);
        await vp.waitForFunction((tag) => !document.querySelector(tag).shadowRoot.querySelector('.file-error').hidden, W);
        const refused = await inWidget(vp, (root) => ({ text: root.querySelector('.file-error p').textContent, retry: root.querySelectorAll('.retry').length, pending: root.querySelectorAll('li.msg.mine .file-card, li.msg.mine .upload').length }));
        assert.deepEqual(refused, { text: 'holiday.pdf is too large (2.5 MB): files can be up to 2 MB.', retry: 0, pending: 0 });
        await screenshot(vp, 'desk-widget-too-large');
        // A refused type in the console: said with what is accepted, no Retry, nothing uploaded.
        const opUploads = countUploads(op);
        const [opChooser] = await Promise.all([op.page.waitForEvent('filechooser'), op.page.click('#attach')]);
        await opChooser.setFiles([{ name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ') }]);
        await op.page.waitForSelector('#file-error:not([hidden])');
        assert.equal(await op.page.textContent('#file-error p'), refuseFile({ name: 'setup.exe', size: 2, type: 'application/x-msdownload' }).message);
        assert.match(await op.page.textContent('#file-error p'), /not accepted\. Accepted: Images \(JPEG, PNG, GIF, WebP\), PDF, .*, up to \d+ MB\.$/);
        assert.equal(await op.page.$$eval('#conv .retry', (els) => els.length), 0);
        // Both sides still show exactly the two files, once each; neither page asked for another upload URL.
        await op.page.waitForFunction(() => document.querySelectorAll('#messages .thumb, #messages .file-card').length === 2);
        assert.equal(await inWidget(vp, (root) => root.querySelectorAll('.list .thumb, .list .file-card').length), 2);
        assert.equal(uploads.length, 1);
        assert.equal(opUploads.length, 0);
        assertClean(assert, visitor, op);
      });
      await Promise.all([visitor.context.close(), op.context.close()]);
    }, () => stack),
  );

  test(
    'an anonymous visitor: a friendly name in the console, never the guest id; "joined" shows live in the widget; toasts leave the closed line visible',
    guard(async () => {
      let visitor;
      let op;
      await evidence('names', () => ({ visitor, op }))(async () => {
        op = await newPage(browser, `${stack.origin}/console/`, { viewport: { width: 1280, height: 800 } });
        await consoleSignIn(op, 'Olga', 'olga');
        visitor = await conversation(op, {}, 'Hello, no name here');
        const vp = visitor.page;
        const guestId = await vp.evaluate(() => window.ChatWidget.getState().userId);
        assert.match(guestId, /^g_/);
        const name = friendlyName(guestId);
        assert.match(name, /^Visitor · [A-Z][a-z]+ [A-Z][a-z]+$/);

        // The queue names them; the page never shows the id (the details' Id row aside).
        assert.equal(await op.page.textContent('#queue .queue-item .q-name'), name);
        assert.equal(await op.page.getAttribute('#queue .queue-item .accept', 'aria-label'), `Accept ${name}`);
        assert.equal((await op.page.innerText('body')).includes(guestId), false, 'no guest id in the queue');

        // Accept: "Olga joined the conversation" in the widget, live (no reload), once.
        assert.equal(await inWidget(vp, (root) => [...root.querySelectorAll('.list .note')].some((n) => /joined/.test(n.textContent))), false);
        await accept(op, visitor, 'Hello, no name here');
        await vp.waitForFunction((tag) => [...document.querySelector(tag).shadowRoot.querySelectorAll('.list .note')].some((n) => n.textContent === 'Olga joined the conversation'), W, { timeout: 10_000 });
        assert.equal(await inWidget(vp, (root) => [...root.querySelectorAll('.list .note')].filter((n) => /joined/.test(n.textContent)).length), 1);

        // The conversation's header, details, sender labels and typing name them too.
        assert.equal(await op.page.textContent('#conv-title'), name);
        assert.equal(await op.page.textContent('#mine .session-item .s-name'), name);
        assert.equal(await op.page.textContent('#ctx-name'), name);
        assert.equal(await op.page.textContent('#ctx-id'), guestId, 'the id, in the row labelled Id');
        assert.equal(await op.page.textContent('#messages li.msg:not(.mine) .who'), name);
        await vp.type(`${W} textarea[aria-label="Message"]`, 'typing');
        await op.page.waitForFunction((n) => document.getElementById('typing').textContent === `${n} is typing…`, name);
        const shown = (await op.page.innerText('body')).split(guestId).length - 1;
        assert.equal(shown, 1, 'the guest id shows once, in the Id row');
        // The Name row fits in the details pane.
        const fits = await op.page.evaluate(() => {
          const dd = document.getElementById('ctx-name').getBoundingClientRect();
          const pane = document.getElementById('details');
          const p = pane.getBoundingClientRect();
          return dd.right <= p.right - 8 && pane.scrollWidth <= pane.clientWidth;
        });
        assert.ok(fits, 'the Name row stays inside the details pane');

        // The visitor ends and rates it: the console's toast does not cover "This conversation is closed."
        await vp.click(`${W} .end-button`);
        await waitWidgetState(vp, 'closed');
        await op.page.waitForSelector('#composer-closed:not([hidden])');
        await vp.click(`${W} label[for="cw-star-4"]`);
        await vp.click(`${W} form.rating button[type="submit"]`);
        await op.page.waitForFunction((n) => document.getElementById('toast').textContent === `${n} rated the conversation 4 out of 5.` && !document.getElementById('toast').hidden, name);
        const overlap = await op.page.evaluate(() => {
          const a = document.getElementById('toast').getBoundingClientRect();
          const b = document.getElementById('composer-closed').getBoundingClientRect();
          return !(a.bottom <= b.top || b.bottom <= a.top || a.right <= b.left || b.right <= a.left);
        });
        assert.equal(overlap, false, 'the toast and the closed line do not overlap');
        await op.page.waitForSelector('#rating[data-score="4"]');
        assert.equal(await op.page.textContent('#rating'), '★★★★☆ 4/5', 'the rating, without a comment (nor a "null")');
        await screenshot(op.page, 'desk-console-anonymous-rated');
        assert.equal((await op.page.innerText('body')).split(guestId).length - 1, 1, 'still only in the Id row');
        assertClean(assert, visitor, op);
      });
      await Promise.all([visitor.context.close(), op.context.close()]);
    }, () => stack),
  );

  test(
    'axe-core: no serious or critical violation in the widget (waiting, active, closed) or the console (queue, conversation)',
    guard(async () => {
      let visitor;
      let op;
      await evidence('axe', () => ({ visitor, op }))(async () => {
        op = await newPage(browser, `${stack.origin}/console/`, { viewport: { width: 1280, height: 800 } });
        await consoleSignIn(op, 'Olga', 'olga');
        visitor = await conversation(op, {}, 'Can you check my order?');
        const vp = visitor.page;
        const widget = { include: [[W]] };
        assert.deepEqual(await axeSerious(vp, widget), [], 'widget, waiting');
        // The console's queue, with the sign-in gone: a main landmark and an h1.
        assert.equal(await op.page.$$eval('main, h1', (els) => els.filter((e) => !e.closest('[hidden]')).map((e) => e.tagName).sort().join()), 'H1,MAIN');
        assert.deepEqual(await axeSerious(op.page), [], 'console, queue');

        await accept(op, visitor, 'Can you check my order?');
        await op.page.fill('#composer-input', 'Sure, one moment.');
        await op.page.press('#composer-input', 'Enter');
        await waitWidgetMessage(vp, 'Sure, one moment.', { mine: false });
        await widgetSend(vp, 'Thanks!');
        await waitConsoleMessage(op.page, 'Thanks!', { mine: false });
        await waitWidgetMessage(vp, 'Thanks!', { mine: true, status: 'read' });
        // The conversation also listed under "My conversations" (the selected one's preview).
        await op.page.waitForSelector('#mine .session-item.current');
        assert.deepEqual(await axeSerious(vp, widget), [], 'widget, active');
        assert.deepEqual(await axeSerious(op.page), [], 'console, conversation');

        await op.page.fill('#close-resolution', 'Checked');
        await op.page.click('#close-button');
        await waitWidgetState(vp, 'closed');
        await vp.waitForSelector(`${W} form.rating`);
        assert.deepEqual(await axeSerious(vp, widget), [], 'widget, closed (the rating form)');
        await op.page.waitForSelector('#composer-closed:not([hidden])');
        assert.deepEqual(await axeSerious(op.page), [], 'console, closed conversation');
        assertClean(assert, visitor, op);
      });
      await Promise.all([visitor.context.close(), op.context.close()]);
    }, () => stack),
  );
});

describe('support desk: names and limits (pure)', () => {
  test('friendlyName: stable for an id, different ids mostly differ, never the id', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `g_${(i * 2654435761).toString(16).padStart(32, '0')}`);
    const names = ids.map((id) => friendlyName(id));
    assert.deepEqual(ids.map((id) => friendlyName(id)), names, 'the same id, the same name');
    assert.ok(new Set(names).size >= 180, `200 ids, ${new Set(names).size} names`);
    for (const [i, n] of names.entries()) {
      assert.match(n, /^Visitor · [A-Z][a-z]+ [A-Z][a-z]+$/);
      assert.ok(!n.includes(ids[i]));
    }
    assert.match(friendlyName('g_x', 'Guest'), /^Guest · /);
  });

  test("the widget's and console's limits are the server's defaults (shared/src/app.rs)", async () => {
    const app = await readFile(new URL('../../shared/src/app.rs', import.meta.url), 'utf8');
    const types = app.match(/DEFAULT_UPLOAD_TYPES: &str = "([^"]+)"/)[1].split(',');
    assert.deepEqual([...UPLOAD_LIMITS.types], types);
    const max = app.match(/max_upload_bytes: ([\d *]+),/)[1].split('*').reduce((a, b) => a * Number(b.trim()), 1);
    assert.equal(UPLOAD_LIMITS.maxBytes, max);
    assert.equal(refuseFile({ name: 'a.png', size: max, type: 'image/png' }), null, 'the limit itself is allowed');
    assert.equal(refuseFile({ name: 'a.png', size: max + 1, type: 'image/png' }).code, 'too_large');
    assert.equal(refuseFile({ name: 'a.svg', size: 10, type: 'image/svg+xml' }).code, 'type_refused');
    assert.equal(refuseFile({ name: 'e', size: 0, type: 'text/plain' }).code, 'empty');
  });
});
