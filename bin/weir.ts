#!/usr/bin/env node
// The `weir` command. Node 24 runs this TypeScript file directly (type stripping).

/** Commands that serve traffic until stopped. */
const SERVES = new Set(['up', 'demo', 'proxy', 'server']);

const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`weir needs Node.js 24 or newer (this is ${process.version}). Run it through npm (npx weir …, npm run …), which uses the Node 24 pinned in devDependencies.\n`);
  process.exit(1);
}
// The long-running commands on a single core collect garbage on one thread (src/runtime/gc.ts says
// why). The flag only takes effect at start-up (v8.setFlagsFromString later did not bound the pauses),
// so the process re-executes itself in place (same pid) with it.
if (SERVES.has(process.argv[2] ?? '') && typeof process.execve === 'function') {
  const { gcFlags } = await import('../src/runtime/gc.ts');
  const flags = gcFlags(1);
  if (flags.length > 0) process.execve(process.execPath, [process.execPath, ...process.execArgv, ...flags, ...process.argv.slice(1)], process.env);
}
// node:sqlite prints an ExperimentalWarning on first use; it is noise for CLI users.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'ExperimentalWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
});

const { main } = await import('../src/cli/main.ts');
const controller = new AbortController();
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (++signals > 1) process.exit(130); // a second Ctrl-C stops at once
    controller.abort();
  });
}
const code = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
  progress: process.stderr.isTTY === true,
});
process.exitCode = code;
// Long-running commands resolve after a graceful stop; anything left (keep-alive sockets) must not hold the exit.
setTimeout(() => process.exit(code), 200).unref();
