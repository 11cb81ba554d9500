// The UI's text helpers (web/sdk/text.js) in Node: link detection is safe (only http, https and
// mailto; nothing else becomes a link) and gives the text back unchanged.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatBytes, linkify, linkTarget } from '../../web/sdk/text.js';

const links = (text) => linkify(text).filter((p) => p.href).map((p) => [p.text, p.href]);

describe('linkify', () => {
  test('finds http(s), www. and e-mail addresses; punctuation after them stays text', () => {
    assert.deepEqual(links('see https://x.org/a. and (https://en.wikipedia.org/wiki/Foo_(bar)) www.example.com, mail a.b@ex.co!'), [
      ['https://x.org/a', 'https://x.org/a'],
      ['https://en.wikipedia.org/wiki/Foo_(bar)', 'https://en.wikipedia.org/wiki/Foo_(bar)'],
      ['www.example.com', 'https://www.example.com/'],
      ['a.b@ex.co', 'mailto:a.b@ex.co'],
    ]);
    assert.deepEqual(links('مرحبا https://example.com/ص؟'), [['https://example.com/ص', 'https://example.com/%D8%B5']]);
  });

  test('nothing else becomes a link', () => {
    for (const text of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)//https://x', 'data:text/html,<script>alert(1)</script>', 'vbscript:x', 'file:///etc/passwd', 'http://', 'x@y', 'ftp://host/file', '<a href="javascript:alert(1)">x</a>']) {
      for (const [, href] of links(text)) assert.match(href, /^(https?|mailto):/, `${text} → ${href}`);
    }
    assert.deepEqual(links('javascript:alert(1)'), []);
    assert.equal(linkTarget('javascript:alert(1)'), null);
    assert.equal(linkTarget('mailto:not-an-address'), null);
  });

  test('quotes and markup end a link: an attribute cannot be broken out of', () => {
    assert.deepEqual(links('https://a.b/c?d=1&e=2#f"><img src=x onerror=alert(1)>'), [['https://a.b/c?d=1&e=2#f', 'https://a.b/c?d=1&e=2#f']]);
  });

  test('the segments give the text back', () => {
    for (const text of ['', 'plain', 'a https://x.org b www.y.org. c@d.ef', '\n\nhttps://x.org\n']) {
      assert.equal(linkify(text).map((p) => p.text).join(''), text);
    }
  });

  test('formatBytes', () => {
    assert.deepEqual([512, 12_345, 4_000_000, 26_214_400].map(formatBytes), ['512 B', '12 KB', '4.0 MB', '26 MB']);
  });
});
