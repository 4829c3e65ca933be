import { request } from 'undici';

/** The placeholders a PromQL query or webhook body may use. */
export interface MetricVars {
  service: string;
  version: string;
  baseline: string;
  /** The window, as a PromQL range (`45s`). */
  interval: string;
}

/** Substitutes `{{service}}`, `{{version}}`, `{{baseline}}`, `{{interval}}`. */
export function fillTemplate(text: string, vars: MetricVars): string {
  return text.replace(/\{\{\s*(service|version|baseline|interval)\s*\}\}/g, (_m, k: keyof MetricVars) => vars[k]);
}

/**
 * Runs an instant PromQL query (`GET /api/v1/query`) and returns its single value: the first sample
 * of a vector, or a scalar. `null` when the answer is empty (no data: Inconclusive, not a pass);
 * throws on an error answer (the run's phase becomes Error).
 *
 * @example
 *   await queryPrometheus('http://127.0.0.1:9090', 'sum(rate(http_requests_total{version="v2"}[1m]))', Date.now())
 */
export async function queryPrometheus(address: string, query: string, at: number, timeoutMs = 10_000): Promise<number | null> {
  const u = new URL('/api/v1/query', address);
  u.searchParams.set('query', query);
  u.searchParams.set('time', (at / 1000).toFixed(3));
  const res = await request(u, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const body = await res.body.json() as { status: string; error?: string; data?: { resultType: string; result: unknown } };
  if (body.status !== 'success') throw new Error(`Prometheus answered ${res.statusCode}: ${body.error ?? body.status}`);
  const { resultType, result } = body.data ?? { resultType: 'vector', result: [] };
  let raw: unknown;
  if (resultType === 'scalar') raw = (result as [number, string])[1];
  else if (resultType === 'vector') raw = (result as { value: [number, string] }[])[0]?.value[1];
  else throw new Error(`the query returned a ${resultType}; use an instant vector or scalar query (e.g. wrap it in sum(...))`);
  if (raw === undefined) return null;
  const v = Number(raw);
  return Number.isNaN(v) ? null : v;
}

/**
 * Asks a webhook for a metric value: POSTs the context as JSON; the answer is a number, or
 * `{ "value": n }` (`null` = no data).
 */
export async function webhookMetric(url: string, body: unknown, timeoutMs = 10_000): Promise<number | null> {
  const res = await request(url, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`the webhook answered HTTP ${res.statusCode}`);
  const json = JSON.parse(text) as unknown;
  const v = typeof json === 'number' ? json : (json as { value?: unknown } | null)?.value;
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`the webhook answered ${text.slice(0, 100)}; expected a number or {"value": n}`);
  return v;
}
