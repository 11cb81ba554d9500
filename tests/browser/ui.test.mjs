// The web client as site owners and their users expect it (issue 14): layouts that cannot
// overflow at 390 × 844 (a phone, touch) and 1280 × 800, right-to-left text, touch and keyboard
// use, the composer, long messages and links, room previews, accessibility (axe-core).
// One stack and one browser for this file; every test uses its own users (own contexts).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, assertClean, axeSerious, bubbles, guard, launchBrowser, newUser, openRoom, openUser, screenshot, seedMessages, send, signIn, startDirect, startStack, waitForBubble } from './helpers.mjs';

let stack;
let browser;

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const SIZES = [
  ['phone', { mobile: true }],
  ['desktop', { viewport: DESKTOP }],
];

/** Runs `fn` in the page with the UI's shadow root. */
const inUi = (page, fn, arg) => page.evaluate(({ src, arg }) => new Function('root', 'arg', `return (${src})(root, arg);`)(window.chatApp.root, arg), { src: fn.toString(), arg });

/** Creates a group as `page`'s user, from the sidebar; returns its roomId. */
async function createGroup(page, name, members) {
  const before = await page.evaluate(() => window.chatApp.current);
  await page.click('#new-group');
  await page.fill('#group-name', name);
  await page.fill('#group-members', members.join(', '));
  await page.click('#group-form button[type="submit"]');
  await page.waitForFunction((before) => window.chatApp.current && window.chatApp.current !== before && !window.chatApp.root.getElementById('composer').hidden, before);
  return page.evaluate(() => window.chatApp.current);
}

/** Everything that sticks out of the viewport or of its box, horizontally. */
function overflow(root) {
  const vw = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > vw) out.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${vw}`);
  for (const el of root.querySelectorAll('.sidebar, .conversation, .rooms, .room-button, .room-side, .badge, .room-time, .me, .conv-header, .composer, #send, .msg, .bubble')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue; // hidden
    if (r.right > vw + 0.5 || r.left < -0.5) out.push(`${el.className || el.id}: ${Math.round(r.left)}…${Math.round(r.right)} of ${vw}`);
  }
  for (const el of root.querySelectorAll('.rooms, .messages')) if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.className} scrolls sideways`);
  return out;
}

async function axe(page, what) {
  assert.deepEqual(await axeSerious(page), [], `${what}: no serious or critical accessibility violations`);
}

describe('layout, text direction, touch, composer, accessibility', { timeout: 180_000 }, () => {
  for (const [label, options] of SIZES) {
    test(`${label}: long names and RTL text fit, with ellipses; nothing scrolls sideways; axe`, guard(async () => {
      const long = 'Bartholomew-Maximilian-Fitzgerald-Wolfeschlegelsteinhausenbergerdorff-the-Third';
      const arabic = 'مرحبا بكم في مجموعة الدردشة الخاصة بنا، نتمنى لكم وقتا ممتعا مع الأصدقاء!';
      const hebrew = 'שלום לכולם, מה שלומכם היום? אני מקווה שהכול בסדר אצלכם.';
      const uid = label;
      const bart = await openUser(browser, stack.origin, long, `bart-${uid}`);
      const zoe = await newUser(browser, stack.origin, options);
      await axe(zoe.page, `${label} sign-in`);
      await signIn(zoe, 'Zoe', `zoe-${uid}`);
      await axe(zoe.page, `${label} empty room list`);
      // The empty-state hint sits at the top of the empty list, under the buttons.
      const hint = await inUi(zoe.page, (root) => {
        const h = root.getElementById('rooms-empty').getBoundingClientRect();
        const b = root.querySelector('.new-room').getBoundingClientRect();
        return { gap: h.top - b.bottom, visible: h.height > 0 };
      });
      assert.ok(hint.visible && hint.gap >= 0 && hint.gap < 40, `the empty-state hint is right under the buttons (${hint.gap} px)`);

      const direct = await startDirect(bart.page, `zoe-${uid}`);
      await send(bart.page, `${long} ${long}`);
      const group = await createGroup(bart.page, `${arabic} ${long}`, [`zoe-${uid}`]);
      await send(bart.page, arabic);
      await send(bart.page, `Latin then RTL: ${hebrew}`);
      await send(bart.page, hebrew);
      await zoe.page.waitForFunction(({ group, hebrew }) => window.chatApp.root.querySelector(`.room[data-room-id="${group}"] .preview-text`)?.textContent === hebrew, { group, hebrew });
      await zoe.page.waitForSelector(`.room[data-room-id="${direct}"] .badge`);
      // A room that arrived after sign-in has its presence dot without being opened.
      await zoe.page.waitForSelector(`.room[data-room-id="${direct}"] .dot.on`);

      // The room list: within the screen, titles and previews cut with an ellipsis.
      assert.deepEqual(await inUi(zoe.page, overflow), [], 'nothing sticks out');
      const titles = await inUi(zoe.page, (root) =>
        [...root.querySelectorAll('.room-title, .preview-text')].map((el) => ({ cut: el.scrollWidth > el.clientWidth, ellipsis: getComputedStyle(el).textOverflow, dir: getComputedStyle(el).direction, text: el.textContent.slice(0, 20) })),
      );
      for (const t of titles) if (t.cut) assert.equal(t.ellipsis, 'ellipsis', `${t.text}… is cut with an ellipsis`);
      assert.ok(titles.some((t) => t.cut), 'the long names are cut');
      // An RTL preview keeps its first words (its end is cut, not its start).
      const rtl = await inUi(zoe.page, (root, id) => {
        const el = root.querySelector(`.room[data-room-id="${id}"] .preview-text`);
        const range = document.createRange();
        range.setStart(el.firstChild, 0);
        range.setEnd(el.firstChild, 4);
        const first = range.getBoundingClientRect();
        const box = el.getBoundingClientRect();
        return { dir: getComputedStyle(el).direction, firstInside: first.right <= box.right + 1 && first.left >= box.left - 1, title: getComputedStyle(root.querySelector(`.room[data-room-id="${id}"] .room-title`)).direction };
      }, group);
      assert.deepEqual(rtl, { dir: 'rtl', firstInside: true, title: 'rtl' }, 'RTL preview and title are laid out right to left, first words shown');
      await screenshot(zoe.page, `10-${label}-room-list-long-rtl`);
      await axe(zoe.page, `${label} room list`);

      // The conversation: bubbles take their direction from their text.
      await openRoom(zoe.page, group);
      await waitForBubble(zoe.page, hebrew, { mine: false });
      assert.deepEqual(await inUi(zoe.page, overflow), [], 'nothing sticks out of the conversation');
      const dirs = await inUi(zoe.page, (root) => [...root.querySelectorAll('li.msg .content')].map((el) => [el.textContent.slice(0, 6), getComputedStyle(el).direction]));
      assert.deepEqual(dirs.map((d) => d[1]), ['rtl', 'ltr', 'rtl'], 'each text in its own direction');
      assert.equal(await inUi(zoe.page, (root) => getComputedStyle(root.getElementById('conv-title')).direction), 'rtl');
      // Consecutive messages of one sender: the name once.
      assert.equal(await inUi(zoe.page, (root) => root.querySelectorAll('li.msg .sender').length), 1, 'one sender label for a run of messages');
      // The group's start says who created it.
      assert.match(await inUi(zoe.page, (root) => root.querySelector('.room-start:not([hidden])')?.textContent || ''), /^Bartholomew.* created the group “مرحبا/);
      await screenshot(zoe.page, `11-${label}-conversation-rtl`);
      await axe(zoe.page, `${label} conversation`);
      assertClean(assert, bart, zoe);
      await Promise.all([bart.context.close(), zoe.context.close()]);
    }, () => stack));
  }

  test('phone: touch users reach reply, edit and delete by tapping ⋯ or a long press', guard(async () => {
    const ann = await openUser(browser, stack.origin, 'Ann', 'ann-touch', { mobile: true });
    const ben = await openUser(browser, stack.origin, 'Ben', 'ben-touch');
    const roomId = await startDirect(ben.page, 'ann-touch');
    await send(ben.page, 'Tap me');
    await ann.page.waitForSelector(`.room[data-room-id="${roomId}"]`);
    await ann.page.tap(`.room[data-room-id="${roomId}"] .room-button`);
    await waitForBubble(ann.page, 'Tap me', { mine: false });
    assert.equal(await ann.page.evaluate(() => matchMedia('(hover: none)').matches), true, 'a touch screen');
    // The actions are not shown until asked for, and ⋯ is there to ask.
    assert.equal(await ann.page.isVisible('li.msg.theirs .act-reply'), false);
    assert.equal(await ann.page.isVisible('li.msg.theirs .more'), true, '⋯ is visible without hover');
    await ann.page.tap('li.msg.theirs .more');
    await ann.page.waitForSelector('li.msg.theirs .act-reply', { state: 'visible' });
    await screenshot(ann.page, '12-phone-message-actions');
    await ann.page.tap('li.msg.theirs .act-reply');
    await ann.page.waitForSelector('#composer-context:not([hidden])');
    await ann.page.fill('#composer-input', 'Replied by touch');
    await ann.page.tap('#send');
    await waitForBubble(ben.page, 'Replied by touch', { mine: false });
    await ben.page.waitForSelector('li.msg.theirs .quote');

    // A long press on her own message: edit and delete.
    await waitForBubble(ann.page, 'Replied by touch', { status: 'read' });
    const bubble = await ann.page.locator('li.msg.mine .bubble', { hasText: 'Replied by touch' }).boundingBox();
    const cdp = await ann.context.newCDPSession(ann.page);
    const at = { x: bubble.x + bubble.width / 2, y: bubble.y + bubble.height / 2 };
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at] });
    await ann.page.waitForSelector('li.msg.mine.show-actions .act-edit', { state: 'visible' });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await ann.page.tap('li.msg.mine.show-actions .act-delete');
    await ann.page.tap('li.msg.mine .confirm-delete');
    await ben.page.waitForSelector('li.msg.theirs.deleted .tombstone');
    // Touch targets are big enough to hit (44 px is the usual minimum; 40 here).
    await ann.page.tap('li.msg.theirs .more');
    const sizes = await inUi(ann.page, (root) => [...root.querySelectorAll('li.msg.show-actions .actions button, li.msg .more')].map((b) => b.getBoundingClientRect().height));
    assert.ok(sizes.every((h) => h >= 40), `touch targets ${sizes.join(', ')} px`);
    assertClean(assert, ann, ben);
    await Promise.all([ann.context.close(), ben.context.close()]);
  }, () => stack));

  for (const [label, options] of SIZES) {
    test(`${label}: the list stays pinned to the bottom while the composer grows; own new messages are in view`, guard(async () => {
      const cy = await openUser(browser, stack.origin, 'Cy', `cy-${label}`, options);
      const roomId = await startDirect(cy.page, `dee-${label}`);
      await seedMessages(cy.page, roomId, Array.from({ length: 30 }, (_, i) => `filler ${i + 1}`));
      await waitForBubble(cy.page, 'filler 30', {});
      const lastVisible = () =>
        inUi(cy.page, (root) => {
          const box = root.getElementById('messages').getBoundingClientRect();
          const last = [...root.querySelectorAll('#message-list > li.msg')].at(-1).getBoundingClientRect();
          const composer = root.getElementById('composer').getBoundingClientRect();
          return { inBox: last.bottom <= box.bottom + 1 && last.top >= box.top - 1, aboveComposer: last.bottom <= composer.top + 1 };
        });
      assert.deepEqual(await lastVisible(), { inBox: true, aboveComposer: true });
      await cy.page.click('#composer-input');
      for (let i = 1; i <= 6; i++) {
        await cy.page.keyboard.type(`line ${i}`);
        if (i < 6) await cy.page.keyboard.press('Shift+Enter');
      }
      await cy.page.waitForFunction(() => window.chatApp.root.getElementById('composer-input').getBoundingClientRect().height > 100);
      await cy.page.waitForFunction(() => {
        const b = window.chatApp.root.getElementById('messages');
        return b.scrollHeight - b.scrollTop - b.clientHeight < 2;
      });
      assert.deepEqual(await lastVisible(), { inBox: true, aboveComposer: true }, 'the newest message is not behind the grown composer');
      await screenshot(cy.page, `13-${label}-composer-grown`);
      await cy.page.keyboard.press('Enter');
      await waitForBubble(cy.page, 'line 1\nline 2\nline 3\nline 4\nline 5\nline 6', { mine: true, status: 'sent' });
      assert.deepEqual(await lastVisible(), { inBox: true, aboveComposer: true }, 'one’s own new message is in view');
      assertClean(assert, cy);
      await cy.context.close();
    }, () => stack));
  }

  test('a fresh sign-in names the sender of a room’s last message (not their id)', guard(async () => {
    const leo = await openUser(browser, stack.origin, 'Leo', 'leo-y35h9');
    const roomId = await createGroup(leo.page, 'Plans', ['mia-fresh']);
    await send(leo.page, 'see you at 8');
    await waitForBubble(leo.page, 'see you at 8', { status: 'sent' });
    const mia = await openUser(browser, stack.origin, 'Mia', 'mia-fresh');
    await mia.page.waitForSelector(`.room[data-room-id="${roomId}"] .preview-who`);
    assert.equal(await mia.page.textContent(`.room[data-room-id="${roomId}"] .preview-who`), 'Leo: ');
    // Sign out (the room list kept for offline starts goes too), and in again as someone else.
    await mia.page.click('#signout');
    await mia.page.waitForSelector('#signin:not([hidden])');
    assert.deepEqual(await mia.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('chat.rooms.'))), []);
    await signIn(mia, 'Nia', 'nia-fresh');
    await mia.page.waitForSelector('#rooms-empty:not([hidden])');
    assert.equal(await mia.page.textContent('#me-name'), 'Nia');
    assertClean(assert, leo, mia);
    await Promise.all([leo.context.close(), mia.context.close()]);
  }, () => stack));

  for (const [label, options] of SIZES) {
    test(`${label}: too long says so next to the composer with a count; long messages fold; links are safe links`, guard(async () => {
      const eve = await openUser(browser, stack.origin, 'Eve', `eve-${label}`, options);
      const fay = await openUser(browser, stack.origin, 'Fay', `fay-${label}`);
      const roomId = await startDirect(fay.page, `eve-${label}`);
      const long = Array.from({ length: 50 }, (_, i) => `Paragraph ${i + 1}: ${'lorem ipsum dolor sit amet '.repeat(3)}`).join('\n').slice(0, 5000);
      await send(fay.page, long);
      await send(fay.page, 'Docs: https://example.com/guide?x=1&y=2. Or www.example.org, or mail help@example.com; not javascript:alert(1)');
      await eve.page.waitForSelector(`.room[data-room-id="${roomId}"]`);
      await openRoom(eve.page, roomId);
      await waitForBubble(eve.page, long, { mine: false });

      // The 5,000 characters are folded, with "Show more".
      const folded = await inUi(eve.page, (root) => root.querySelector('li.msg.theirs .bubble').getBoundingClientRect().height);
      assert.ok(folded < 520, `folded: ${folded} px`);
      await eve.page.click('li.msg.theirs .show-more');
      await eve.page.waitForSelector('li.msg.theirs .show-more[aria-expanded="true"]');
      const open = await inUi(eve.page, (root) => root.querySelector('li.msg.theirs .bubble').getBoundingClientRect().height);
      assert.ok(open > folded * 2, `unfolded: ${open} px`);
      await eve.page.click('li.msg.theirs .show-more');

      // Links: anchors built from the text, only http(s) and mailto, opening apart from the app.
      await waitForBubble(eve.page, 'Docs: https://example.com/guide?x=1&y=2. Or www.example.org, or mail help@example.com; not javascript:alert(1)', { mine: false });
      const anchors = await inUi(eve.page, (root) => [...root.querySelectorAll('li.msg .content a')].map((a) => [a.textContent, a.getAttribute('href'), a.rel, a.target]));
      assert.deepEqual(anchors, [
        ['https://example.com/guide?x=1&y=2', 'https://example.com/guide?x=1&y=2', 'noopener noreferrer', '_blank'],
        ['www.example.org', 'https://www.example.org/', 'noopener noreferrer', '_blank'],
        ['help@example.com', 'mailto:help@example.com', 'noopener noreferrer', '_blank'],
      ]);
      await screenshot(eve.page, `14-${label}-long-message-links`);

      // Too long: a count and a word next to the composer, Send disabled, nothing sent, no toast.
      const sendsBefore = eve.sent.filter((f) => f.includes('"message.send"')).length;
      await eve.page.fill('#composer-input', 'x'.repeat(14_000));
      await eve.page.waitForSelector('#counter:not([hidden])');
      assert.equal(await eve.page.textContent('#counter'), `${(14000).toLocaleString('en-US')} / ${(16384).toLocaleString('en-US')}`);
      assert.equal(await eve.page.isDisabled('#send'), false);
      await eve.page.fill('#composer-input', 'x'.repeat(16_500));
      await eve.page.waitForSelector('#composer-error:not([hidden])');
      assert.match(await eve.page.textContent('#composer-error'), /^Too long to send: shorten it by 116 bytes\.$/);
      assert.equal(await eve.page.isDisabled('#send'), true);
      await eve.page.press('#composer-input', 'Enter');
      const where = await inUi(eve.page, (root) => {
        const c = root.getElementById('composer').getBoundingClientRect();
        const e = root.getElementById('composer-error').getBoundingClientRect();
        const input = root.getElementById('composer-input').getBoundingClientRect();
        return { inside: e.top >= c.top && e.bottom <= c.bottom + 1, belowInput: e.top >= input.bottom - 1, toast: !root.getElementById('toast').hidden, invalid: root.getElementById('composer-input').getAttribute('aria-invalid') };
      });
      assert.deepEqual(where, { inside: true, belowInput: true, toast: false, invalid: 'true' });
      await screenshot(eve.page, `15-${label}-too-long`);
      assert.equal(eve.sent.filter((f) => f.includes('"message.send"')).length, sendsBefore, 'nothing was sent');
      await eve.page.fill('#composer-input', 'short again');
      await eve.page.waitForSelector('#composer-error', { state: 'hidden' });
      assert.equal(await eve.page.isDisabled('#send'), false);
      assertClean(assert, eve, fay);
      await Promise.all([eve.context.close(), fay.context.close()]);
    }, () => stack));
  }

  test('keyboard only: sign in, start a chat, send, reach a message’s actions, reply; new messages are announced', guard(async () => {
    const kai = await newUser(browser, stack.origin, { viewport: DESKTOP });
    const lou = await openUser(browser, stack.origin, 'Lou', 'lou-kb');
    const { page } = kai;
    await page.waitForFunction(() => document.activeElement?.id === 'signin-name');
    await page.keyboard.type('Kai');
    await page.keyboard.press('Tab');
    await page.keyboard.type('kai-kb');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#conn[data-state="online"]');
    /** The focused element inside the UI (its id, class and accessible text). */
    const focused = () =>
      page.evaluate(() => {
        const a = window.chatApp.root.activeElement;
        return a ? { id: a.id, cls: a.className, text: (a.getAttribute('aria-label') || a.textContent || '').trim(), outline: getComputedStyle(a).outlineStyle } : null;
      });
    const tabTo = async (want, max = 15) => {
      for (let i = 0; i < max; i++) {
        await page.keyboard.press('Tab');
        const f = await focused();
        if (f && want(f)) return f;
      }
      throw new Error(`Tab never reached it; last: ${JSON.stringify(await focused())}`);
    };
    const f = await tabTo((x) => x.id === 'new-direct');
    assert.notEqual(f.outline, 'none', 'focus is visible');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.chatApp.root.activeElement?.id === 'direct-user');
    await page.keyboard.type('lou-kb');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.chatApp.current && window.chatApp.root.activeElement?.id === 'composer-input');
    await page.keyboard.type('Hello by keyboard');
    await page.keyboard.press('Enter');
    await waitForBubble(page, 'Hello by keyboard', { status: 'sent' });

    // Lou answers: announced to screen readers (a polite live region), and shown.
    const roomId = await page.evaluate(() => window.chatApp.current);
    await lou.page.waitForSelector(`.room[data-room-id="${roomId}"]`);
    await openRoom(lou.page, roomId);
    await send(lou.page, 'Hi Kai, read you loud and clear');
    await page.waitForFunction(() => window.chatApp.root.querySelector('[aria-live="polite"].sr-only')?.textContent === 'Lou: Hi Kai, read you loud and clear');

    // Back from the composer to the message's ⋯, open its actions, reply.
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Shift+Tab');
      const x = await focused();
      if (x.cls.includes('more')) break;
    }
    const more = await focused();
    assert.equal(more.text, 'Message actions', 'Shift+Tab from the composer reaches the newest message’s actions');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.chatApp.root.activeElement?.classList.contains('act-reply'));
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.chatApp.root.activeElement?.id === 'composer-input' && !window.chatApp.root.getElementById('composer-context').hidden);
    await page.keyboard.type('Replying without a mouse');
    await page.keyboard.press('Enter');
    await waitForBubble(lou.page, 'Replying without a mouse', { mine: false });
    await lou.page.waitForSelector('li.msg.theirs .quote');
    await screenshot(page, '16-keyboard-reply');
    await axe(page, 'keyboard conversation');
    assertClean(assert, kai, lou);
    await Promise.all([kai.context.close(), lou.context.close()]);
  }, () => stack));
});
