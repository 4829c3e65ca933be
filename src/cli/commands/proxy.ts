import { join, resolve } from 'node:path';
import { startProxyNode } from '../../runtime/proxy-node.ts';
import { urlHost } from '../../runtime/listen.ts';
import { WeirError } from '../../errors.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { Command } from '../command.ts';

export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'Run the proxy alone, following a control plane\'s routing-table stream',
  help: `Usage: weir proxy --control URL --token TOKEN [options]

Runs the data plane alone. It receives the routing table from the control plane ('weir server' or
'weir up') as a stream, saves the last one it got, and keeps serving it while the control plane is
away, reconnecting with backoff. If the control plane is unreachable at start it serves the saved
table. Events go back to the control plane in batches (bounded queue; dropped and counted when full).
SIGTERM/SIGINT drain in-flight requests, then exit.

Options:
      --control URL     the control API (default: WEIR_URL, else http://127.0.0.1:8081); several
                        replicas' URLs separated by commas are tried in turn after a failure
      --token TOKEN     a token with scope operator (read is enough for the table, not for events)
                        (default: WEIR_TOKEN)
      --listen ADDR     where to serve traffic, host:port (default: 127.0.0.1:8080)
      --admin ADDR      serve GET /healthz and /readyz (table version, stream, event counts) on host:port
      --state-file PATH where the last table is saved (default: .weir/proxy-table.json)
      --startup-wait MS how long to wait for the control plane before serving the saved table (default 3000)
      --capture-header NAME  record this request header on events as http.request.header.NAME
                        (repeatable; weir.yaml's events.captureHeaders, for a proxy without weir.yaml)
      --raw-sticky-key  also record the sticky key itself on events (weir.sticky_key), not only its hash
      --max-header-bytes N   largest request head accepted, bytes (default 16384; larger gets 431)
      --json            print the startup summary as JSON`,
  async run(args, io) {
    const { values } = parse(args, {
      control: { type: 'string' }, token: { type: 'string' }, listen: { type: 'string' }, admin: { type: 'string' },
      'state-file': { type: 'string' }, 'startup-wait': { type: 'string' }, json: { type: 'boolean' },
      'capture-header': { type: 'string', multiple: true }, 'raw-sticky-key': { type: 'boolean' }, 'max-header-bytes': { type: 'string' },
    });
    const maxHeaderBytes = values['max-header-bytes'] === undefined ? undefined : Number(values['max-header-bytes']);
    if (maxHeaderBytes !== undefined && !(Number.isInteger(maxHeaderBytes) && maxHeaderBytes >= 1024)) throw new UsageError('--max-header-bytes must be a whole number of bytes, at least 1024');
    const controlUrl = values.control ?? io.env.WEIR_URL ?? 'http://127.0.0.1:8081';
    const token = values.token ?? io.env.WEIR_TOKEN;
    if (!token) throw new UsageError('--token (or WEIR_TOKEN) is required: create one with `weir tokens create proxy --scope operator`');
    const wait = values['startup-wait'] === undefined ? undefined : Number(values['startup-wait']);
    if (wait !== undefined && !(Number.isFinite(wait) && wait >= 0)) throw new UsageError('--startup-wait must be a number of milliseconds');
    let node;
    try {
      node = await startProxyNode({
        controlUrl, token, listen: values.listen ?? '127.0.0.1:8080', adminListen: values.admin, startupWaitMs: wait, signal: io.signal,
        stateFile: resolve(io.cwd, values['state-file'] ?? join('.weir', 'proxy-table.json')),
        log: (l) => io.stderr(`${l}\n`),
        proxy: { captureHeaders: values['capture-header'], rawStickyKey: values['raw-sticky-key'], maxHeaderBytes },
      });
    } catch (e) {
      io.stderr(`weir proxy: ${e instanceof WeirError ? e.message : (e as Error).stack}\n`);
      return 1;
    }
    const proxy = `http://${urlHost(node.address.address)}:${node.address.port}`;
    const admin = node.adminAddress && `http://${urlHost(node.adminAddress.address)}:${node.adminAddress.port}`;
    if (values.json) io.stdout(JSON.stringify({ proxy, admin, control: controlUrl, tableVersion: node.proxy.table.version, source: node.source }) + '\n');
    else io.stdout(`weir proxy is up\n  proxy    ${proxy}\n  control  ${controlUrl}\n  table    ${node.proxy.table.version} (from ${node.source === 'file' ? 'the saved file' : 'the control plane'})\n`);
    await new Promise<void>((r) => io.signal.addEventListener('abort', () => r(), { once: true }));
    io.stderr('weir proxy: draining…\n');
    await node.close();
    const s = node.events.stats();
    if (s.dropped > 0) io.stderr(`weir proxy: ${s.dropped} events dropped in all\n`);
    return 0;
  },
};
