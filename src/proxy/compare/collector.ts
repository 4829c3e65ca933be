import type { CompareResponse, Difference, DiffKind, DiffRules } from './types.ts';
import { compileRules, mergeRules, withoutUndefined, type CompiledRules } from './rules.ts';
import { diffResponses, fieldOf } from './diff.ts';
import { generalizePath } from './path.ts';
import { DEFAULT_THRESHOLDS, judgeField, type NoiseThresholds } from './noise.ts';
import { createEndpointResolver, type EndpointPattern } from './endpoint.ts';
import { summarizeExchange, type CompareExample, type CompareRequest, type RedactFn } from './examples.ts';
import type { CompareReport, EndpointReport, FieldReport } from './report-types.ts';

/** A configured endpoint: its pattern and the diff rules added for it. */
export interface CompareEndpoint extends EndpointPattern {
  rules?: DiffRules;
}

export interface CompareCollectorOptions {
  /** Service-wide diff rules (ignore lists, arrays as sets). */
  rules?: DiffRules;
  /** Named endpoints, first match wins; other requests are grouped by normalised path. */
  endpoints?: readonly CompareEndpoint[];
  thresholds?: Partial<NoiseThresholds>;
  /** Examples kept per field. Default 3. */
  maxExamples?: number;
  /** Bytes of each body kept in an example. Default 4096. */
  maxExampleBodyBytes?: number;
  /** Endpoints tracked; the rest are counted under `(other endpoints)`. Default 200. */
  maxEndpoints?: number;
  /** Fields tracked per endpoint; the rest are counted under `(other fields)`. Default 200. */
  maxFieldsPerEndpoint?: number;
  /** Group array positions (`items[3].price` → `items[*].price`). Default true. */
  groupArrayIndices?: boolean;
  /** Redacts stored examples (after the default redaction of credential headers). */
  redact?: RedactFn;
}

/** What one recorded request produced: the differences, for a compare event. */
export interface CompareRecord {
  endpoint: string;
  /** Candidate vs primary. */
  candidate: Difference[];
  /** Secondary vs primary (noise). */
  noise: Difference[];
  /** The fields the candidate differed in, as counted (`body.items[*].price`): for a compare event. */
  candidateFields: string[];
  /** The fields the secondary differed in, as counted. */
  noiseFields: string[];
}

export interface CompareCollector {
  /** Diffs the three responses of one request and counts the differences. Pure apart from its own state. */
  record(
    endpoint: string | undefined,
    request: CompareRequest,
    primary: CompareResponse,
    secondary: CompareResponse,
    candidate: CompareResponse,
  ): CompareRecord;
  /**
   * Counts one compared request from its field lists alone (no diff, no example): rebuilds findings
   * from compare events, which carry `candidateFields` and `noiseFields` (see compareEventFields).
   */
  recordFields(endpoint: string, candidateFields: readonly string[], noiseFields: readonly string[]): void;
  /** Counts a request whose comparison could not run (an upstream failed or timed out). */
  recordFailure(endpoint: string | undefined, request: CompareRequest, reason: string): void;
  /** The endpoint name a request is counted under. */
  endpointOf(request: Pick<CompareRequest, 'method' | 'path'>): string;
  /** The findings so far, as data. */
  report(): CompareReport;
  /** Forgets everything recorded. */
  reset(): void;
}

export const OTHER_ENDPOINTS = '(other endpoints)';
export const OTHER_FIELDS = '(other fields)';
const MAX_FAILURE_REASONS = 20;

interface FieldState {
  candidate: number;
  noise: number;
  kinds: Partial<Record<DiffKind, number>>;
  examples: CompareExample[];
}

interface EndpointState {
  requests: number;
  failed: number;
  differing: number;
  noisy: number;
  failures: Map<string, number>;
  fields: Map<string, FieldState>;
}

function newEndpoint(): EndpointState {
  return { requests: 0, failed: 0, differing: 0, noisy: 0, failures: new Map(), fields: new Map() };
}

function pct(n: number, of: number): number {
  return of > 0 ? Math.round((n / of) * 1000000) / 10000 : 0;
}

/**
 * Creates a findings collector: it diffs each request's three responses, counts differences per endpoint
 * and field in bounded memory, keeps a few redacted examples, and reports a verdict per field by Diffy's
 * noise rule.
 * @example
 * const collector = createCompareCollector({ rules: { ignorePaths: ['meta.requestId'] } });
 * collector.record(undefined, { method: 'GET', path: '/users/1' }, primary, secondary, candidate);
 * const report = collector.report();
 * if (report.verdict === 'differences') console.log(formatTextReport(report));
 */
export function createCompareCollector(opts: CompareCollectorOptions = {}): CompareCollector {
  const thresholds: NoiseThresholds = { ...DEFAULT_THRESHOLDS, ...withoutUndefined(opts.thresholds) };
  const maxExamples = opts.maxExamples ?? 3;
  const maxBody = opts.maxExampleBodyBytes ?? 4096;
  const maxEndpoints = opts.maxEndpoints ?? 200;
  const maxFields = opts.maxFieldsPerEndpoint ?? 200;
  const group = opts.groupArrayIndices ?? true;
  const endpointOf = createEndpointResolver(opts.endpoints ?? []);
  const serviceRules = compileRules(opts.rules);
  const endpointRules = new Map<string, CompiledRules>();
  for (const e of opts.endpoints ?? []) {
    if (!endpointRules.has(e.name)) endpointRules.set(e.name, compileRules(mergeRules(opts.rules, e.rules)));
  }
  let endpoints = new Map<string, EndpointState>();

  const stateOf = (name: string): [string, EndpointState] => {
    let st = endpoints.get(name);
    if (st) return [name, st];
    if (endpoints.size >= maxEndpoints) name = OTHER_ENDPOINTS;
    st = endpoints.get(name);
    if (!st) endpoints.set(name, (st = newEndpoint()));
    return [name, st];
  };
  const fieldKey = (d: Difference): string => (group ? generalizePath(fieldOf(d)) : fieldOf(d));
  const fieldOfState = (st: EndpointState, key: string): FieldState => {
    let f = st.fields.get(key);
    if (f) return f;
    if (st.fields.size >= maxFields) key = OTHER_FIELDS;
    f = st.fields.get(key);
    if (!f) st.fields.set(key, (f = { candidate: 0, noise: 0, kinds: {}, examples: [] }));
    return f;
  };

  const countNoise = (st: EndpointState, fields: readonly string[]): void => {
    const seen = new Set<FieldState>();
    for (const k of fields) {
      const f = fieldOfState(st, k);
      if (seen.has(f)) continue;
      seen.add(f);
      f.noise++;
    }
  };

  return {
    endpointOf: (request) => endpointOf(request.method, request.path),

    record(endpoint, request, primary, secondary, candidate) {
      const resolved = endpoint ?? endpointOf(request.method, request.path);
      const rules = endpointRules.get(resolved) ?? serviceRules;
      const cand = diffResponses(primary, candidate, rules);
      const noise = diffResponses(primary, secondary, rules);
      const [name, st] = stateOf(resolved);
      st.requests++;
      if (cand.length > 0) st.differing++;
      if (noise.length > 0) st.noisy++;
      // Each field counts once per request, however many differences it holds.
      const byField = new Map<string, Difference[]>();
      for (const d of cand) {
        const k = fieldKey(d);
        const list = byField.get(k);
        if (list) list.push(d);
        else byField.set(k, [d]);
      }
      let exchange: Omit<CompareExample, 'differences'> | null = null;
      const seen = new Set<FieldState>();
      for (const [k, ds] of byField) {
        const f = fieldOfState(st, k);
        for (const d of ds) f.kinds[d.kind] = (f.kinds[d.kind] ?? 0) + 1;
        if (seen.has(f)) continue;
        seen.add(f);
        f.candidate++;
        if (f.examples.length < maxExamples) {
          exchange ??= summarizeExchange(request, primary, secondary, candidate, maxBody, opts.redact);
          f.examples.push({ ...exchange, differences: ds.slice(0, 10) });
        }
      }
      const noiseFields = [...new Set(noise.map(fieldKey))];
      countNoise(st, noiseFields);
      return { endpoint: name, candidate: cand, noise, candidateFields: [...byField.keys()], noiseFields };
    },

    recordFields(endpoint, candidateFields, noiseFields) {
      const [, st] = stateOf(endpoint);
      st.requests++;
      if (candidateFields.length > 0) st.differing++;
      if (noiseFields.length > 0) st.noisy++;
      const seen = new Set<FieldState>();
      for (const k of candidateFields) {
        const f = fieldOfState(st, k);
        if (seen.has(f)) continue;
        seen.add(f);
        f.candidate++;
      }
      countNoise(st, noiseFields);
    },

    recordFailure(endpoint, request, reason) {
      const [, st] = stateOf(endpoint ?? endpointOf(request.method, request.path));
      st.failed++;
      if (st.failures.has(reason) || st.failures.size < MAX_FAILURE_REASONS) st.failures.set(reason, (st.failures.get(reason) ?? 0) + 1);
    },

    report() {
      const eps: EndpointReport[] = [];
      let requests = 0;
      let failed = 0;
      let differences = 0;
      for (const [name, st] of [...endpoints].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
        requests += st.requests;
        failed += st.failed;
        const fields: FieldReport[] = [];
        for (const [field, f] of st.fields) {
          const j = judgeField(f.candidate, f.noise, st.requests, thresholds);
          if (j.verdict === 'difference') differences++;
          fields.push({
            field,
            verdict: j.verdict,
            reason: j.reason,
            candidate: { count: f.candidate, percent: pct(f.candidate, st.requests) },
            noise: { count: f.noise, percent: pct(f.noise, st.requests) },
            relativeDifference: j.relativeDifference,
            absoluteDifference: j.absoluteDifference,
            kinds: { ...f.kinds },
            examples: f.examples.map((e) => structuredClone(e)),
          });
        }
        fields.sort((x, y) => (x.verdict === y.verdict ? y.candidate.count - x.candidate.count || (x.field < y.field ? -1 : 1) : x.verdict === 'difference' ? -1 : 1));
        eps.push({
          endpoint: name,
          requests: st.requests,
          failed: st.failed,
          failures: Object.fromEntries(st.failures),
          differing: { count: st.differing, percent: pct(st.differing, st.requests) },
          noisy: { count: st.noisy, percent: pct(st.noisy, st.requests) },
          differences: fields.filter((f) => f.verdict === 'difference').length,
          fields,
        });
      }
      return {
        verdict: differences > 0 ? 'differences' : 'no-differences',
        thresholds: { ...thresholds },
        requests,
        failed,
        differences,
        endpoints: eps,
      };
    },

    reset() {
      endpoints = new Map();
    },
  };
}
