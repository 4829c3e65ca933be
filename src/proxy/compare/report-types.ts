import type { DiffKind } from './types.ts';
import type { NoiseThresholds } from './noise.ts';
import type { CompareExample } from './examples.ts';

/** A count with its share of the endpoint's compared requests (percent, 4 decimals). */
export interface CountPercent {
  count: number;
  percent: number;
}

/** One field of one endpoint, with its verdict by the noise rule. */
export interface FieldReport {
  /** `status`, `header.<name>`, `body` or `body.<path>` (array positions as `[*]` by default). */
  field: string;
  verdict: 'difference' | 'noise';
  reason: string;
  /** C: requests where candidate and primary differed on this field. */
  candidate: CountPercent;
  /** N: requests where primary and secondary differed on this field. */
  noise: CountPercent;
  /** Percent; see judgeField. */
  relativeDifference: number;
  /** Percent of the endpoint's requests. */
  absoluteDifference: number;
  /** Candidate-vs-primary differences by kind (a request may count several). */
  kinds: Partial<Record<DiffKind, number>>;
  examples: CompareExample[];
}

export interface EndpointReport {
  endpoint: string;
  /** Requests compared (all three responses received). */
  requests: number;
  /** Requests whose comparison failed (an upstream error), not in `requests`. */
  failed: number;
  /** Failure reasons and their counts (at most 20 distinct reasons). */
  failures: Record<string, number>;
  /** Requests where the candidate differed from primary in any field, noise included. */
  differing: CountPercent;
  /** Requests where the secondary differed from primary in any field. */
  noisy: CountPercent;
  /** Fields judged real differences. */
  differences: number;
  /** Real differences first, then noise; by candidate count. */
  fields: FieldReport[];
}

/** The findings of a tap compare, as data: shown as text, served as JSON. */
export interface CompareReport {
  /** `differences` when any field of any endpoint is a real (non-noise) difference. */
  verdict: 'differences' | 'no-differences';
  thresholds: NoiseThresholds;
  requests: number;
  failed: number;
  /** Fields judged real differences, over all endpoints. */
  differences: number;
  endpoints: EndpointReport[];
}
