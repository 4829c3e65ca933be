/**
 * Shared shapes of the tap-compare engine: the responses it compares, the differences it finds and the
 * options that steer the diff. Pure data, no behaviour.
 */

/** The kinds of difference the diff reports. */
export type DiffKind =
  /** Same type, different value (status, header value, JSON scalar). */
  | 'value'
  /** Different JSON types at the same path (e.g. number vs string, object vs null). */
  | 'type'
  /** Present in the first (primary) response, absent from the second. */
  | 'missing'
  /** Absent from the first (primary) response, present in the second. */
  | 'extra'
  /** Arrays compared by position whose lengths differ. */
  | 'array-length'
  /** Non-JSON bodies (or unparsable JSON) whose bytes differ. */
  | 'text';

/** Which part of the response a difference is in. */
export type DiffSection = 'status' | 'header' | 'body';

/** One difference between two responses. Values are JSON-compatible and short (see `maxValueChars`). */
export interface Difference {
  section: DiffSection;
  /**
   * Where: `''` for the status and for a whole non-JSON body, the lower-case header name for headers,
   * the field path inside the JSON body for bodies (`user.address.city`, `items[3].price`, `tags[*]` for
   * set elements, `''` for the root value).
   */
  path: string;
  kind: DiffKind;
  /** The value in the first response (absent for `extra`). For `array-length`, the length. */
  left?: unknown;
  /** The value in the second response (absent for `missing`). For `array-length`, the length. */
  right?: unknown;
  /** For `text` differences: the byte offset of the first difference. */
  offset?: number;
}

/** Raw headers as node gives them: a record (`res.headers`) or the flat `rawHeaders` list. */
export type RawHeaders = Readonly<Record<string, string | string[] | number | undefined>> | readonly string[];

/** One upstream response as the diff sees it. */
export interface CompareResponse {
  status: number;
  headers: RawHeaders;
  body: Uint8Array;
  /** Defaults to the `content-type` header. */
  contentType?: string;
}

/** How bodies are compared. `auto`: as JSON when both content types say JSON (or are absent and the body looks like JSON). */
export type BodyMode = 'auto' | 'json' | 'text';

/** Ignore rules and array settings, as written in config (before compilation). */
export interface DiffRules {
  /** Header names to ignore (case-insensitive, `*` wildcards allowed), added to the defaults. */
  ignoreHeaders?: readonly string[];
  /** Replace the default header ignore list instead of adding to it. */
  replaceDefaultIgnoredHeaders?: boolean;
  /** Body field-path globs to ignore, with their subtrees: `meta.requestId`, `items[*].updatedAt`, `**.traceId`. */
  ignorePaths?: readonly string[];
  /** Field-path globs of arrays compared as multisets (order ignored): `tags`, `items[*].labels`. */
  arraysAsSets?: readonly string[];
  /** Ignore the status code. Default false. */
  ignoreStatus?: boolean;
  /** Ignore all headers. Default false. */
  ignoreAllHeaders?: boolean;
  bodyMode?: BodyMode;
  /** Longest rendering of a value kept in a difference; longer ones are cut with `…`. Default 200. */
  maxValueChars?: number;
  /** Stop after this many differences per body (the rest are dropped). Default 100. */
  maxDifferences?: number;
  /** Bodies larger than this many bytes are compared as text, not structurally. Default 8 MiB. */
  maxJsonBytes?: number;
}
