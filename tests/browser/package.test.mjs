// The SDK as an npm package (web/sdk): `npm pack` (its prepack generates the TypeScript
// declarations from the JSDoc with tsc), the tarball's files, its `exports` in Node, and a small
// TypeScript site (tests/ts-consumer) that type-checks against the installed package.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ROOT } from './helpers.mjs';

const run = promisify(execFile);
const BIN = join(ROOT, 'tests', 'browser', 'node_modules', '.bin');
const env = { ...process.env, PATH: `${BIN}:${process.env.PATH}`, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

let dir;
let packed;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chat-sdk-pack-'));
  // --ignore-scripts off: prepack runs tsc (typescript from tests/browser, on the PATH).
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: join(ROOT, 'web', 'sdk'), env, maxBuffer: 10 * 1024 * 1024 });
  packed = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the SDK package', { timeout: 180_000 }, () => {
  test('npm pack: the modules, their declarations, nothing else', () => {
    assert.equal(packed.name, 'serverless-chat-sdk');
    const files = packed.files.map((f) => f.path).sort();
    assert.deepEqual(files, [
      'README.md',
      'attachments.js',
      'chat-ui-styles.js',
      'chat-ui.js',
      'chat.js',
      'codes.js',
      'dom.js',
      'files.js',
      'jwt.js',
      'package.json',
      'service-worker.js',
      'text.js',
      'types/attachments.d.ts',
      'types/chat-ui-styles.d.ts',
      'types/chat-ui.d.ts',
      'types/chat.d.ts',
      'types/codes.d.ts',
      'types/dom.d.ts',
      'types/files.d.ts',
      'types/jwt.d.ts',
      'types/text.d.ts',
    ]);
  });

  test('a TypeScript site type-checks against the installed package; its exports load in Node', async () => {
    const site = join(dir, 'site');
    await cp(join(ROOT, 'tests', 'ts-consumer'), site, { recursive: true });
    const pkg = join(site, 'node_modules', 'serverless-chat-sdk');
    await mkdir(pkg, { recursive: true });
    await run('tar', ['-xzf', join(dir, packed.filename), '-C', pkg, '--strip-components=1']);
    try {
      await run(join(BIN, 'tsc'), ['-p', join(site, 'tsconfig.json')], { cwd: site, env });
    } catch (e) {
      assert.fail(`tsc found errors in tests/ts-consumer/site.ts:\n${e.stdout}${e.stderr}`);
    }
    // The same entry points at run time (ES modules through `exports`).
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', "const m = await import('serverless-chat-sdk'); const t = await import('serverless-chat-sdk/text'); console.log(typeof m.ChatClient, m.MAX_CONTENT_BYTES, t.linkify('x https://a.b')[1].href)"], { cwd: site, env });
    assert.equal(stdout.trim(), 'function 16384 https://a.b/');
    await assert.rejects(run(process.execPath, ['--input-type=module', '-e', "await import('serverless-chat-sdk/chat-ui-styles.js')"], { cwd: site, env }), /ERR_PACKAGE_PATH_NOT_EXPORTED/, 'only the exported entry points');
  });
});
