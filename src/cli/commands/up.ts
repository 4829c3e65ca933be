import { startWeir } from '../../runtime/up.ts';
import { WeirError } from '../../errors.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { Command, CliIO } from '../command.ts';

export const upCommand: Command = {
  name: 'up',
  summary: 'Run everything in one process: proxy, control API, state and events',
  help: `Usage: weir up [-c weir.yaml] [options]

Starts the proxy and the control API in one process, on embedded defaults (SQLite state and the
events log in dataDir). Reloads the config on SIGHUP and when the file changes; an invalid config is
refused with its errors and the running one stays. SIGTERM/SIGINT drain in-flight requests, then exit.

Options:
  -c, --config PATH     the config file (default: weir.yaml)
      --proxy ADDR      override proxy.listen (host:port)
      --control ADDR    override control.listen (host:port)
      --data-dir DIR    override dataDir
      --workers N       run the proxy in N processes sharing the port (SO_REUSEPORT);
                        the control plane stays in this one (default: proxy.workers or 1)
      --no-watch        do not watch the config file (SIGHUP still reloads)
      --json            print the startup summary as JSON
Environment:
  WEIR_ADMIN_TOKEN      the admin token (otherwise generated once into <dataDir>/admin-token)`,
  async run(args, io) {
    const { values } = parse(args, {
      config: { type: 'string', short: 'c' }, proxy: { type: 'string' }, control: { type: 'string' },
      'data-dir': { type: 'string' }, 'no-watch': { type: 'boolean' }, json: { type: 'boolean' }, workers: { type: 'string' },
    });
    const workers = values.workers === undefined ? undefined : Number(values.workers);
    if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 64)) throw new UsageError('--workers must be a whole number from 1 to 64');
    return runUp(io, {
      configPath: values.config ?? 'weir.yaml', proxyListen: values.proxy, controlListen: values.control,
      dataDir: values['data-dir'], watch: !values['no-watch'], json: values.json ?? false, workers,
    });
  },
};

export async function runUp(io: CliIO, o: { configPath: string; proxyListen?: string; controlListen?: string; dataDir?: string; watch: boolean; json: boolean; quiet?: boolean; workers?: number }): Promise<number> {
  let weir;
  try {
    weir = await startWeir({
      configPath: o.configPath, env: io.env, cwd: io.cwd, proxyListen: o.proxyListen, controlListen: o.controlListen,
      dataDir: o.dataDir, watchConfig: o.watch, log: (l) => io.stderr(`${l}\n`), workers: o.workers,
    });
  } catch (e) {
    io.stderr(`weir up: ${e instanceof WeirError ? e.message : (e as Error).stack}\n`);
    return 1;
  }
  const proxyUrl = `http://${fmtHost(weir.proxyAddress.address)}:${weir.proxyAddress.port}`;
  const controlUrl = `http://${fmtHost(weir.controlAddress.address)}:${weir.controlAddress.port}`;
  if (o.json) {
    io.stdout(JSON.stringify({ proxy: proxyUrl, control: controlUrl, dataDir: weir.dataDir, token: weir.tokenCreated ? weir.token : undefined, services: Object.keys(weir.config.services) }) + '\n');
  } else if (!o.quiet) {
    io.stdout(`weir is up\n  proxy    ${proxyUrl}\n  control  ${controlUrl}\n  data     ${weir.dataDir}\n  services ${Object.keys(weir.config.services).join(', ')}\n`);
    if (weir.tokenCreated) io.stdout(`  admin token (shown once, stored in ${weir.dataDir}/admin-token):\n    ${weir.token}\n`);
  }
  const onHup = () => void weir.reload('sighup');
  process.on('SIGHUP', onHup);
  await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
  process.off('SIGHUP', onHup);
  if (!o.quiet) io.stderr('weir: draining…\n');
  await weir.close();
  return 0;
}

function fmtHost(h: string): string {
  return h.includes(':') ? `[${h}]` : h;
}
