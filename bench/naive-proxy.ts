// The "naive" Node proxy the foundation issue measures Weir against: node:http + undici.request,
// piping bodies, no routing, no events. What a team writes in an afternoon.
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { request, Agent } from 'undici';

const [port, ...upstreams] = process.argv.slice(2);
const agent = new Agent({ connections: 128 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection']);
let n = 0;
createServer((req, res) => {
  const upstream = upstreams[n++ % upstreams.length];
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k) && k !== 'host') headers[k] = v;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  request(upstream + req.url, { method: req.method as 'GET', headers, body: hasBody ? req : undefined, dispatcher: agent }).then((up) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
    res.writeHead(up.statusCode, out);
    pipeline(up.body, res, () => {});
  }, () => {
    res.writeHead(502);
    res.end();
  });
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
