import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfig } from '../../config/validate.ts';
import { parse } from '../args.ts';
import type { Command } from '../command.ts';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check a weir.yaml and report every problem at once',
  help: `Usage: weir validate [-c weir.yaml] [--json]

Checks the config and prints every problem with its path and what to do, e.g.
  services.shop.weights.canry: no version named "canry" — did you mean "canary"?

Options:
  -c, --config PATH   the config file (default: weir.yaml)
      --json          print {"valid": bool, "issues": [{path, message}]}
Exit codes: 0 valid, 1 invalid, 2 usage error.`,
  async run(args, io) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
    const path = resolve(io.cwd, values.config ?? 'weir.yaml');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const msg = `cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`;
      if (values.json) io.stdout(JSON.stringify({ valid: false, issues: [{ path: '(file)', message: msg }] }) + '\n');
      else io.stderr(`${msg}\n`);
      return 1;
    }
    const r = parseConfig(text, io.env);
    if (values.json) {
      io.stdout(JSON.stringify(r.ok ? { valid: true, issues: [] } : { valid: false, issues: r.issues }) + '\n');
      return r.ok ? 0 : 1;
    }
    if (r.ok) {
      const n = Object.keys(r.config.services).length;
      io.stdout(`${path}: valid (${n} service${n === 1 ? '' : 's'})\n`);
      return 0;
    }
    io.stderr(`${path}: ${r.issues.length} problem${r.issues.length === 1 ? '' : 's'}\n`);
    for (const i of r.issues) io.stderr(`  ${i.path}: ${i.message}\n`);
    return 1;
  },
};
