import { startServer } from '../../runtime/server.ts';
import { urlHost } from '../../runtime/listen.ts';
import { WeirError } from '../../errors.ts';
import { parse } from '../args.ts';
import type { Command } from '../command.ts';

export const serverCommand: Command = {
  name: 'server',
  summary: 'Run the control plane alone (API, controllers, state); replicas share PostgreSQL',
  help: `Usage: weir server [-c weir.yaml] [--store postgres://…] [options]

Runs the control plane without a proxy: the control API, the controllers and the state store.
Proxies connect with 'weir proxy --control URL --token T' and receive the routing table as a stream.
With a PostgreSQL store, run as many replicas as you like on one database: all serve the API, one of
them (the holder of a PostgreSQL advisory lock) runs the controllers, and another takes over within
seconds if it dies. Reloads the config on SIGHUP and when the file changes.

Options:
  -c, --config PATH     the config file (default: weir.yaml)
      --store URL|PATH  the state store: postgres://user@host:5432/db[?schema=NAME] or a SQLite file
                        (default: WEIR_STORE, else store: in weir.yaml, else <dataDir>/state.db)
      --control ADDR    override control.listen (host:port)
      --data-dir DIR    override dataDir
      --no-watch        do not watch the config file (SIGHUP still reloads)
      --json            print the startup summary as JSON
Environment:
  WEIR_STORE            the state store, as --store
  WEIR_ADMIN_TOKEN      the bootstrap admin token; give every replica the same one
                        (otherwise generated once into <dataDir>/admin-token)`,
  async run(args, io) {
    const { values } = parse(args, {
      config: { type: 'string', short: 'c' }, store: { type: 'string' }, control: { type: 'string' },
      'data-dir': { type: 'string' }, 'no-watch': { type: 'boolean' }, json: { type: 'boolean' },
    });
    let server;
    try {
      server = await startServer({
        configPath: values.config ?? 'weir.yaml', env: io.env, cwd: io.cwd, store: values.store ?? io.env.WEIR_STORE,
        controlListen: values.control, dataDir: values['data-dir'], watchConfig: !values['no-watch'], log: (l) => io.stderr(`${l}\n`),
      });
    } catch (e) {
      io.stderr(`weir server: ${e instanceof WeirError ? e.message : (e as Error).stack}\n`);
      return 1;
    }
    const control = `http://${urlHost(server.controlAddress.address)}:${server.controlAddress.port}`;
    const store = server.election ? 'postgres' : 'sqlite';
    if (values.json) {
      io.stdout(JSON.stringify({ control, store, replica: server.replica, dataDir: server.dataDir, token: server.tokenCreated ? server.token : undefined, services: Object.keys(server.config.services) }) + '\n');
    } else {
      io.stdout(`weir server is up\n  control  ${control}\n  store    ${store}\n  replica  ${server.replica}\n  services ${Object.keys(server.config.services).join(', ')}\n`);
      if (server.tokenCreated) io.stdout(`  admin token (shown once, stored in ${server.dataDir}/admin-token):\n    ${server.token}\n`);
    }
    const onHup = () => void server.reload('sighup');
    process.on('SIGHUP', onHup);
    await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
    process.off('SIGHUP', onHup);
    io.stderr('weir server: stopping…\n');
    await server.close();
    return 0;
  },
};
