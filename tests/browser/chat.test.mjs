// The demo app against a real local stack: two people chatting, ticks, typing, content as text.
// One stack and one browser for this file; every test uses its own users (own contexts).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertClean,
  bubbles,
  newUser,
  openRoom,
  openUser,
  recordStatuses,
  screenshot,
  seedMessages,
  send,
  serverHistory,
  signIn,
  startDirect,
  guard,
  withStack,
  waitForBubble,
} from './helpers.mjs';

const env = withStack();

describe('demo chat', { timeout: 120_000 }, () => {
  test('two people chat both ways', guard(async () => {
    const alice = await newUser(env.browser, env.stack.origin);
    await screenshot(alice.page, '01-sign-in');
    await signIn(alice, 'Alice');
    const bob = await openUser(env.browser, env.stack.origin, 'Bob');

    const roomId = await startDirect(alice.page, 'bob');
    await send(alice.page, 'Hi Bob!');
    await waitForBubble(alice.page, 'Hi Bob!', { mine: true });

    // Bob: the new room shows in his list with one unread message.
    await bob.page.waitForSelector(`.room[data-room-id="${roomId}"] .badge`);
    assert.equal(await bob.page.textContent(`.room[data-room-id="${roomId}"] .badge`), '1');
    assert.equal(await bob.page.textContent(`.room[data-room-id="${roomId}"] .room-title`), 'Alice');
    assert.equal(await bob.page.textContent(`.room[data-room-id="${roomId}"] .room-preview`), 'Hi Bob!');
    await screenshot(bob.page, '02-room-list');

    await openRoom(bob.page, roomId);
    await waitForBubble(bob.page, 'Hi Bob!', { mine: false });
    await send(bob.page, 'Hello Alice, how are you?');
    await waitForBubble(alice.page, 'Hello Alice, how are you?', { mine: false });
    await send(alice.page, 'Great, thanks!');
    await waitForBubble(bob.page, 'Great, thanks!', { mine: false });

    const expected = ['Hi Bob!', 'Hello Alice, how are you?', 'Great, thanks!'];
    const a = await bubbles(alice.page);
    const b = await bubbles(bob.page);
    assert.deepEqual(a.map((m) => m.text), expected, 'Alice sees each message once, in order');
    assert.deepEqual(b.map((m) => m.text), expected, 'Bob sees each message once, in order');
    assert.deepEqual(a.map((m) => m.mine), [true, false, true]);
    assert.deepEqual(b.map((m) => m.mine), [false, true, false]);
    assert.deepEqual(a.map((m) => m.seq), [1, 2, 3], 'seqs as the server gave them');
    const stored = await serverHistory(alice.page, roomId);
    assert.deepEqual(stored.map((m) => m.content), expected, 'the server stored each message once');
    // Bob has the room open: what arrives there is read at once, and Alice's ticks say so.
    await waitForBubble(alice.page, 'Great, thanks!', { status: 'read' });
    assert.equal(await bob.page.evaluate((id) => window.chatApp.chat.room(id).unread, roomId), 0);
    assertClean(assert, alice, bob);
    await Promise.all([alice.context.close(), bob.context.close()]);
  }, () => env.stack));

  test('ticks go sending → sent → delivered → read', guard(async () => {
    const carol = await openUser(env.browser, env.stack.origin, 'Carol');
    const roomId = await startDirect(carol.page, 'dan'); // Dan has never signed in
    await recordStatuses(carol.page);
    await send(carol.page, 'Are you there, Dan?');
    await waitForBubble(carol.page, 'Are you there, Dan?', { status: 'sent' });
    const [mine] = await bubbles(carol.page);
    // Nobody else has been online: the message cannot be more than sent.
    assert.equal(mine.status, 'sent');

    // Dan signs in and only looks at his room list: his device has received the message.
    const dan = await openUser(env.browser, env.stack.origin, 'Dan');
    await dan.page.waitForSelector(`.room[data-room-id="${roomId}"] .badge`);
    await waitForBubble(carol.page, 'Are you there, Dan?', { status: 'delivered' });
    await screenshot(carol.page, '03a-conversation-delivered');

    // Dan opens the room: he has read it.
    await openRoom(dan.page, roomId);
    await waitForBubble(dan.page, 'Are you there, Dan?', { mine: false });
    await waitForBubble(carol.page, 'Are you there, Dan?', { status: 'read' });

    const log = await carol.page.evaluate(() => window.__statusLog);
    assert.deepEqual(log[mine.key], ['sending', 'sent', 'delivered', 'read'], 'every state was shown, in order');
    // The read tick is coloured; the delivered one is not.
    const color = await carol.page.$eval(`li.msg[data-key="${mine.key}"] .ticks`, (el) => getComputedStyle(el).color);
    assert.notEqual(color, 'rgb(123, 135, 148)', 'read ticks are coloured');

    // More messages so the screenshot shows a conversation: Dan answers, Carol replies.
    await send(dan.page, 'Yes! Just got here.');
    await waitForBubble(carol.page, 'Yes! Just got here.', { mine: false });
    await carol.page.hover(`li.msg:not(.mine) .bubble`);
    await carol.page.click('li.msg:not(.mine) .act-reply');
    await send(carol.page, 'Welcome! (this is a reply)');
    await waitForBubble(dan.page, 'Welcome! (this is a reply)', { mine: false });
    await dan.page.waitForSelector('li.msg:not(.mine) .quote');
    assert.match(await dan.page.textContent('li.msg:not(.mine) .quote'), /^You Yes! Just got here\.$/);
    await waitForBubble(carol.page, 'Welcome! (this is a reply)', { status: 'read' });
    await screenshot(carol.page, '03-conversation-ticks');
    assertClean(assert, carol, dan);
    await Promise.all([carol.context.close(), dan.context.close()]);
  }, () => env.stack));

  test('typing: shown while someone types, without flicker; gone at once on blur, pause and send', guard(async (t) => {
    const erin = await openUser(env.browser, env.stack.origin, 'Erin');
    const frank = await openUser(env.browser, env.stack.origin, 'Frank');
    const roomId = await startDirect(erin.page, 'frank');
    await send(erin.page, 'Frank, are you typing?');
    await frank.page.waitForSelector(`.room[data-room-id="${roomId}"]`);
    await openRoom(frank.page, roomId);

    const typingLine = () => erin.page.evaluate(() => window.chatApp.root.getElementById('typing').textContent);
    assert.equal(await typingLine(), '');
    // Erin's page logs every change of the line (to see a flicker), Frank's every keystroke.
    await erin.page.evaluate(() => {
      const el = window.chatApp.root.getElementById('typing');
      window.__typingLog = [];
      new MutationObserver(() => window.__typingLog.push([Date.now(), el.textContent])).observe(el, { childList: true, characterData: true, subtree: true });
    });
    // Frank's page logs every keystroke and every typing frame it sends, by its own clock (the test
    // process may see frames late and bunched up when the machine is busy).
    await frank.page.evaluate(() => {
      window.__keys = [];
      window.__typingSent = [];
      window.chatApp.root.getElementById('composer-input').addEventListener('input', () => window.__keys.push(Date.now()));
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function (data) {
        try {
          const f = JSON.parse(data);
          if (f.action === 'typing') window.__typingSent.push([Date.now(), f.isTyping]);
        } catch {
          /* not JSON */
        }
        return send.call(this, data);
      };
    });

    // Steady typing for about 6 s: the client repeats `true` every 1.5 s, the server forwards at most
    // one per 2 s, Erin's indicator expires 5 s after the last one: it must stay on throughout.
    await frank.page.click('#composer-input');
    await frank.page.keyboard.type('I am writing a long answer, with care', { delay: 160 });
    await erin.page.waitForFunction(() => window.chatApp.root.getElementById('typing').textContent === 'Frank is typing…');
    await screenshot(erin.page, '04-typing');
    const keys = await frank.page.evaluate(() => window.__keys);
    const gaps = keys.slice(1).map((k, i) => k - keys[i]);
    const log = await erin.page.evaluate(() => window.__typingLog);
    const firstOn = log.findIndex(([, text]) => text === 'Frank is typing…');
    assert.ok(firstOn >= 0, 'shown');
    const offWhileTyping = log.slice(firstOn).filter(([at, text]) => text === '' && at < keys.at(-1));
    if (Math.max(...gaps) < 1500) assert.deepEqual(offWhileTyping, [], 'never off while the typing went on (no flicker)');
    else t.diagnostic(`keystrokes ${Math.max(...gaps)} ms apart under load: the pause rule may clear the line, not checked`);
    // The repeats: every 1.5 s (not more often), while typing went on.
    const trues = (await frank.page.evaluate(() => window.__typingSent)).filter(([at, isTyping]) => isTyping && at <= keys.at(-1) + 100);
    const typedFor = keys.at(-1) - keys[0];
    assert.ok(trues.length >= 1 + Math.floor((typedFor - 500) / 1500) && trues.length <= 2 + Math.ceil(typedFor / 1500), `${trues.length} typing frames in ${typedFor} ms`);
    for (let i = 1; i < trues.length; i++) assert.ok(trues[i][0] - trues[i - 1][0] >= 1300, `repeats at least ~1.5 s apart (${trues[i][0] - trues[i - 1][0]} ms)`);

    // Leaving the field stops it at once (typing: false).
    await frank.page.click('#conv-title');
    await erin.page.waitForFunction(() => window.chatApp.root.getElementById('typing').textContent === '', null, { timeout: 2500 });

    // Typing again shows it again; a pause of 2 s sends `false`: it does not linger.
    await frank.page.click('#composer-input');
    await frank.page.keyboard.type('!');
    const typedAt = Date.now();
    await erin.page.waitForFunction(() => window.chatApp.root.getElementById('typing').textContent === 'Frank is typing…', null, { timeout: 5000 });
    await erin.page.waitForFunction(() => window.chatApp.root.getElementById('typing').textContent === '', null, { timeout: 8000 });
    const goneAfter = Date.now() - typedAt;
    assert.ok(goneAfter >= 1500, `cleared ${goneAfter} ms after the last keystroke: not before the 2 s pause`);
    const falses = frank.sent.map((f) => JSON.parse(f)).filter((f) => f.action === 'typing' && f.isTyping === false);
    assert.equal(falses.length, 2, 'Frank said so himself: `false` on blur, and after the pause');

    // Sending stops it too.
    await frank.page.keyboard.type(' Done.');
    await erin.page.waitForFunction(() => window.chatApp.root.getElementById('typing').textContent === 'Frank is typing…', null, { timeout: 5000 });
    await frank.page.press('#composer-input', 'Enter');
    await waitForBubble(erin.page, 'I am writing a long answer, with care! Done.', { mine: false });
    await erin.page.waitForFunction(() => window.chatApp.root.getElementById('typing').textContent === '', null, { timeout: 2500 });
    assertClean(assert, erin, frank);
    await Promise.all([erin.context.close(), frank.context.close()]);
  }, () => env.stack));

  test('content is shown as text, never as HTML', guard(async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const grace = await openUser(env.browser, env.stack.origin, 'Grace');
    const mallory = await openUser(env.browser, env.stack.origin, '<img src=x onerror=alert(2)>', 'mallory');
    assert.equal(await mallory.page.textContent('#me-name'), '<img src=x onerror=alert(2)>');

    // A group whose name is markup, with a message that is markup.
    await grace.page.click('#new-group');
    await grace.page.fill('#group-name', '<b>bold</b><script>alert(3)</script>');
    await grace.page.fill('#group-members', 'mallory');
    await grace.page.click('#group-form button[type="submit"]');
    await grace.page.waitForFunction(() => window.chatApp.current && window.chatApp.root.getElementById('conv-title').textContent.includes('<b>'));
    const roomId = await grace.page.evaluate(() => window.chatApp.current);
    await send(grace.page, evil);
    await waitForBubble(grace.page, evil, { mine: true });

    await mallory.page.waitForSelector(`.room[data-room-id="${roomId}"]`);
    await openRoom(mallory.page, roomId);
    await waitForBubble(mallory.page, evil, { mine: false });
    await send(mallory.page, `${evil} <script>alert(4)</script> &amp; "quotes"`);
    await waitForBubble(grace.page, `${evil} <script>alert(4)</script> &amp; "quotes"`, { mine: false });
    await screenshot(grace.page, '05-content-as-text');

    for (const u of [grace, mallory]) {
      const found = await u.page.evaluate(() => ({
        imgs: window.chatApp.root.querySelectorAll('img, script').length + document.querySelectorAll('img, script:not([src])').length,
        // Texts are bare text nodes: not one element inside.
        nested: [...window.chatApp.root.querySelectorAll('.content, .room-title, .preview-who, .preview-text, #conv-title, #conv-sub, .sender, #me-name')].filter((el) => el.children.length > 0).length,
        title: window.chatApp.root.getElementById('conv-title').textContent,
        roomTitle: window.chatApp.root.querySelector('.room.selected .room-title').textContent,
      }));
      assert.equal(found.imgs, 0, 'no element was made from user content');
      assert.equal(found.nested, 0, 'user content holds no elements');
      assert.equal(found.title, '<b>bold</b><script>alert(3)</script>');
      assert.equal(found.roomTitle, '<b>bold</b><script>alert(3)</script>');
    }
    // In a group, others' bubbles carry the sender's name: markup there too.
    assert.equal(await grace.page.textContent('li.msg.theirs .sender'), '<img src=x onerror=alert(2)>');
    assertClean(assert, grace, mallory); // includes: no dialog ever opened
    await Promise.all([grace.context.close(), mallory.context.close()]);
  }, () => env.stack));

  test('history: older pages load when scrolling up, in order, without duplicates', guard(async () => {
    const olga = await openUser(env.browser, env.stack.origin, 'Olga');
    const roomId = await startDirect(olga.page, 'pete');
    const texts = Array.from({ length: 70 }, (_, i) => `history ${i + 1}`);
    await seedMessages(olga.page, roomId, texts);
    const pete = await openUser(env.browser, env.stack.origin, 'Pete'); // comes later: nothing held yet

    await pete.page.waitForSelector(`.room[data-room-id="${roomId}"] .badge`);
    assert.equal(await pete.page.textContent(`.room[data-room-id="${roomId}"] .badge`), '70');
    await openRoom(pete.page, roomId);
    await waitForBubble(pete.page, 'history 70', { mine: false });
    const first = await bubbles(pete.page);
    assert.ok(first.length >= 20 && first.length < 70, `a first page, not everything (${first.length})`);
    assert.equal(first.at(-1).text, 'history 70', 'opened at the newest message');

    // Scroll to the top until the beginning of the conversation shows.
    await pete.page.waitForFunction(() => {
      const box = window.chatApp.root.getElementById('messages');
      box.scrollTop = 0;
      box.dispatchEvent(new Event('scroll'));
      return window.chatApp.root.getElementById('older').textContent === 'This is the beginning of the conversation.';
    }, null, { polling: 200, timeout: 15_000 });
    const all = await bubbles(pete.page);
    assert.deepEqual(all.map((m) => m.text), texts, 'every message once, in order');
    assert.deepEqual(all.map((m) => m.seq), texts.map((_, i) => i + 1));
    const pages = pete.sent.map((f) => JSON.parse(f)).filter((f) => f.action === 'history');
    assert.ok(pages.length >= 2, 'loaded in pages');
    for (let i = 1; i < pages.length; i++) assert.ok(pages[i].beforeSeq < (pages[i - 1].beforeSeq ?? Infinity), 'each page below the previous one');
    // Everything was on screen at some point: nothing unread is left.
    await pete.page.waitForFunction((id) => window.chatApp.chat.room(id).unread === 0, roomId);
    assertClean(assert, olga, pete);
    await Promise.all([olga.context.close(), pete.context.close()]);
  }, () => env.stack));

  test('edit and delete own messages; others see the edit and a tombstone', guard(async () => {
    const hugo = await openUser(env.browser, env.stack.origin, 'Hugo');
    const ines = await openUser(env.browser, env.stack.origin, 'Ines');
    const roomId = await startDirect(hugo.page, 'ines');
    await send(hugo.page, 'first draft');
    await send(hugo.page, 'to be deleted');
    await waitForBubble(hugo.page, 'to be deleted', { mine: true, status: 'sent' });
    await ines.page.waitForSelector(`.room[data-room-id="${roomId}"]`);
    await openRoom(ines.page, roomId);
    await waitForBubble(ines.page, 'to be deleted', { mine: false });

    const first = hugo.page.locator('li.msg.mine', { hasText: 'first draft' });
    await first.hover();
    await first.locator('.act-edit').click();
    await hugo.page.fill('#composer-input', 'final text');
    await hugo.page.press('#composer-input', 'Enter');
    await waitForBubble(ines.page, 'final text', { mine: false });
    await ines.page.waitForSelector('li.msg.theirs .edited');

    const second = hugo.page.locator('li.msg.mine', { hasText: 'to be deleted' });
    await second.hover();
    await second.locator('.act-delete').click();
    await second.locator('.confirm-delete').click();
    await ines.page.waitForSelector('li.msg.theirs.deleted .tombstone');
    assert.equal(await ines.page.textContent('li.msg.theirs.deleted .tombstone'), 'This message was deleted');
    await hugo.page.waitForSelector('li.msg.mine.deleted');
    assert.deepEqual((await bubbles(ines.page)).map((m) => m.text), ['final text', 'This message was deleted']);
    assertClean(assert, hugo, ines);
    await Promise.all([hugo.context.close(), ines.context.close()]);
  }, () => env.stack));
});
