import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFlagFiles, watchFlagFiles } from '../../src/flags/files.ts';
import { createFlagRegistry } from '../../src/flags/registry.ts';
import type { FlagIssue } from '../../src/flags/types.ts';

async function tmp(t: import('node:test').TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-flags-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const flag = (v: string) => `flags:\n  banner:\n    state: ENABLED\n    variants: { a: "A", b: "B" }\n    defaultVariant: ${v}\n`;

test('loadFlagFiles merges in order and reports unreadable files', async (t) => {
  const dir = await tmp(t);
  await writeFile(join(dir, 'base.yaml'), flag('a'));
  await writeFile(join(dir, 'prod.json'), JSON.stringify({ flags: { banner: { state: 'ENABLED', variants: { a: 'A', b: 'B' }, defaultVariant: 'b' } } }));
  const r = await loadFlagFiles([join(dir, 'base.yaml'), join(dir, 'prod.json')]);
  assert.ok(r.ok);
  assert.equal(r.set.flags.get('banner')!.defaultVariant, 'b');
  const missing = await loadFlagFiles([join(dir, 'base.yaml'), join(dir, 'nope.yaml')]);
  assert.equal(missing.ok, false);
  if (!missing.ok) assert.deepEqual(missing.errors.map((e) => [e.source, e.message]), [[join(dir, 'nope.yaml'), 'cannot read: ENOENT']]);
});

test('watchFlagFiles: a good edit swaps the set, a broken edit keeps the last good set and reports', { timeout: 10_000 }, async (t) => {
  const dir = await tmp(t);
  const file = join(dir, 'flags.yaml');
  await writeFile(file, flag('a'));
  const registry = createFlagRegistry();
  const errors: FlagIssue[][] = [];
  const w = watchFlagFiles([file], registry, { onError: (e) => errors.push(e), debounceMs: 10 });
  t.after(() => w.close());
  assert.ok((await w.reload()).ok);
  assert.equal(registry.resolveString('banner', '').value, 'A');

  await writeFile(file, flag('purple'));
  const bad = await w.reload();
  assert.equal(bad.ok, false);
  assert.ok(errors.length >= 1, 'reported (the watcher may have reported it too)');
  assert.equal(registry.resolveString('banner', '').value, 'A', 'the last good set keeps serving');

  const changed = new Promise<void>((resolve) => registry.onChange(() => resolve()));
  await writeFile(file, flag('b'));
  await changed; // delivered by the file watcher, not by a sleep
  assert.equal(registry.resolveString('banner', '').value, 'B');
});
