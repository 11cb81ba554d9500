// Attachments in the demo app (issue 12): pick a file, watch it upload (progress, cancel), the
// other side sees a thumbnail (a lightbox on click) or a file card (name, size, type) and
// downloads it; an upload made offline waits in the outbox and goes when the network is back.
// Uploads go to the presigned URL of the local S3 (moto, another origin): CORS and the page's CSP
// are part of what is tested.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DESKTOP, assertClean, guard, openRoom, openUser, png, screenshot, serverHistory, slowUploads, startDirect, withStack, waitForBubble } from './helpers.mjs';

const env = withStack();

/** Picks files with the composer's attach button (the file chooser). */
async function attach(page, files) {
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#attach')]);
  await chooser.setFiles(files);
}

async function pair(a, b, options = {}) {
  const first = await openUser(env.browser, env.stack.origin, a, a.toLowerCase(), options.first);
  const second = await openUser(env.browser, env.stack.origin, b, b.toLowerCase(), options.second);
  const roomId = await startDirect(first.page, b.toLowerCase());
  await first.page.fill('#composer-input', 'files coming');
  await first.page.press('#composer-input', 'Enter');
  await second.page.waitForSelector(`.room[data-room-id="${roomId}"]`);
  await openRoom(second.page, roomId);
  await waitForBubble(first.page, 'files coming', { status: 'read' });
  return { first, second, roomId };
}

describe('attachments', { timeout: 180_000 }, () => {
  test('an image: upload progress, a thumbnail on the other side (phone), the lightbox', guard(async () => {
    const { first: ada, second: bo, roomId } = await pair('Ada', 'Bo', { first: { viewport: DESKTOP }, second: { mobile: true } });
    const image = png(400, 300);
    const fast = await slowUploads(ada, 120_000);
    await attach(ada.page, [{ name: 'sunset.png', mimeType: 'image/png', buffer: image }]);
    // The upload's progress shows under the local preview, with a Cancel button.
    await ada.page.waitForFunction(() => {
      const p = window.chatApp.root.querySelector('li.msg.mine .upload progress');
      return p && p.value > 0 && p.value < 100;
    }, null, { timeout: 20_000 });
    assert.equal(await ada.page.isVisible('li.msg.mine .cancel-upload'), true);
    assert.match(await ada.page.getAttribute('li.msg.mine .thumb img', 'src'), /^blob:/, 'the local file, shown at once');
    await screenshot(ada.page, '20-upload-progress');
    await fast();
    await ada.page.waitForSelector('li.msg.mine[data-status="read"] .thumb img');

    // Bo's side: a thumbnail at the image's ratio, loaded through a presigned URL (as a blob:).
    await bo.page.waitForFunction(() => {
      const img = window.chatApp.root.querySelector('li.msg.theirs .thumb img');
      return img && img.complete && img.naturalWidth === 400;
    }, null, { timeout: 20_000 });
    const thumb = await bo.page.evaluate(() => {
      const b = window.chatApp.root.querySelector('li.msg.theirs .thumb').getBoundingClientRect();
      return { w: Math.round(b.width), h: Math.round(b.height), src: window.chatApp.root.querySelector('li.msg.theirs .thumb img').src.slice(0, 5) };
    });
    assert.deepEqual(thumb, { w: 240, h: 180, src: 'blob:' });
    const stored = await serverHistory(bo.page, roomId);
    const att = stored.at(-1).attachments[0];
    assert.deepEqual([stored.at(-1).kind, att.name, att.size, att.mimeType, att.width, att.height], ['image', 'sunset.png', image.length, 'image/png', 400, 300]);
    assert.match(att.key, new RegExp(`^rooms/${roomId}/`));
    assert.equal(await bo.page.textContent(`.room[data-room-id="${roomId}"] .preview-text`), 'Photo', 'the room list says what it is');
    await screenshot(bo.page, '21-phone-thumbnail');

    await bo.page.tap('li.msg.theirs .thumb');
    await bo.page.waitForFunction(() => {
      const d = window.chatApp.root.getElementById('lightbox');
      const img = d.querySelector('img');
      return d.open && img && img.complete && img.naturalWidth === 400;
    });
    assert.equal(await bo.page.evaluate(() => window.chatApp.root.activeElement?.className), 'lightbox-close', 'focus moves into the lightbox');
    await screenshot(bo.page, '22-phone-lightbox');
    await bo.page.keyboard.press('Escape');
    await bo.page.waitForFunction(() => !window.chatApp.root.getElementById('lightbox').open);
    assertClean(assert, ada, bo);
    await Promise.all([ada.context.close(), bo.context.close()]);
  }, () => env.stack));

  test('a file: a card with its name, size and type; it downloads under its name', guard(async () => {
    const { first: cal, second: dot, roomId } = await pair('Cal', 'Dot', { first: { mobile: true }, second: { viewport: DESKTOP } });
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(2336, 32)]);
    await attach(cal.page, [{ name: 'Quarterly report <Q3>.pdf', mimeType: 'application/pdf', buffer: pdf }]);
    await dot.page.waitForSelector('li.msg.theirs .file-card:not([disabled])');
    const card = await dot.page.evaluate(() => {
      const c = window.chatApp.root.querySelector('li.msg.theirs .file-card');
      return { name: c.querySelector('.file-name').textContent, size: c.querySelector('.file-size').textContent, icon: c.querySelector('.file-icon').textContent, label: c.getAttribute('aria-label') };
    });
    assert.deepEqual(card, { name: 'Quarterly report <Q3>.pdf', size: '2.3 KB · PDF', icon: 'PDF', label: 'Download Quarterly report <Q3>.pdf, 2.3 KB' });
    assert.equal(await dot.page.textContent(`.room[data-room-id="${roomId}"] .preview-text`), 'File');
    await screenshot(dot.page, '23-file-card');
    const [download] = await Promise.all([dot.page.waitForEvent('download'), dot.page.click('li.msg.theirs .file-card')]);
    // Under its name (the browser makes it a safe file name: no < or >).
    assert.match(download.suggestedFilename(), /^Quarterly.report..Q3.\.pdf$/);
    const bytes = await download.path().then((p) => import('node:fs/promises').then((fs) => fs.readFile(p)));
    assert.equal(bytes.length, pdf.length);
    await screenshot(cal.page, '24-phone-file-sent');
    assertClean(assert, cal, dot);
    await Promise.all([cal.context.close(), dot.context.close()]);
  }, () => env.stack));

  test('cancel stops an upload; an upload made offline waits in the outbox and goes when back', guard(async () => {
    const { first: eli, second: fox, roomId } = await pair('Eli', 'Fox');
    const fast = await slowUploads(eli, 60_000);
    await attach(eli.page, [{ name: 'big.png', mimeType: 'image/png', buffer: png(300, 300) }]);
    await eli.page.waitForSelector('li.msg.mine .upload progress');
    await eli.page.click('li.msg.mine .cancel-upload');
    await eli.page.waitForFunction(() => !window.chatApp.root.querySelector('li.msg.mine .thumb'));
    await fast();

    await eli.context.setOffline(true);
    await eli.page.waitForSelector('#conn[data-state="offline"]');
    await attach(eli.page, [{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('written on a train\n') }]);
    await eli.page.waitForSelector('li.msg.mine .upload[data-state="waiting"]');
    const queued = await eli.page.evaluate(() => JSON.parse(localStorage.getItem('chat.outbox.v1:eli')));
    assert.deepEqual(queued.map((e) => [e.kind, e.attachments[0].name, e.upload.state]), [['file', 'notes.txt', 'waiting']], 'in the outbox');
    await screenshot(eli.page, '25-upload-waits-offline');
    await eli.context.setOffline(false);
    await fox.page.waitForSelector('li.msg.theirs .file-card:not([disabled])');
    assert.equal(await fox.page.textContent('li.msg.theirs .file-name'), 'notes.txt');
    const stored = await serverHistory(fox.page, roomId);
    assert.deepEqual(stored.map((m) => m.kind), ['text', 'file'], 'the cancelled image was never sent; the file once');
    const sends = eli.sent.map((f) => JSON.parse(f)).filter((f) => f.action === 'message.send' && f.attachments);
    assert.equal(new Set(sends.map((f) => f.clientId)).size, 1);
    assertClean(assert, eli, fox);
    await Promise.all([eli.context.close(), fox.context.close()]);
  }, () => env.stack));
});
