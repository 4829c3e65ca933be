import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS } from '../../src/cli/main.ts';

test('every registered command loads, and its summary and name match the registry', async () => {
  const names = new Set<string>();
  for (const entry of COMMANDS) {
    assert.ok(!names.has(entry.name), `duplicate command ${entry.name}`);
    names.add(entry.name);
    const cmd = await entry.load();
    assert.equal(cmd.name, entry.name);
    assert.equal(cmd.summary, entry.summary, `summary of ${entry.name} drifted from src/cli/main.ts`);
    assert.match(cmd.help, /Usage: weir /, `${entry.name} --help says how to use it`);
  }
});
