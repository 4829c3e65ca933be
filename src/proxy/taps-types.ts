import type { Readable } from 'node:stream';
import type { WideEvent } from '../events/schema.ts';
import type { CopyPools } from './shadow/copy.ts';

/** What shadow, compare and faults need from the proxy (the proxy implements it; tests can fake it). */
export interface TapHost {
  now(): number;
  random(): number;
  /** The proxy process's busy share, 0..1 (src/proxy/load.ts): copies stop above their `maxLoad`. */
  load(): number;
  /** Pushes a shadow or compare event into the proxy's sink. */
  emit(event: WideEvent): void;
  readonly pools: CopyPools;
}

/**
 * The small per-request hook set a tap attaches to an exchange's response: called in order
 * `head` → `data`* → `end`, or `fail` at any point. All optional.
 */
export interface ResponseTap {
  head?(status: number, rawHeaders: readonly string[]): void;
  /** Returns a delay in ms to wait before the next chunk (bandwidth throttling), or 0. */
  data?(chunk: Buffer): number;
  end?(): void;
  fail?(code: string): void;
}

/** The parts of an exchange the taps read (Exchange satisfies it). */
export interface TapExchange {
  readonly method: string;
  readonly req: { url?: string };
  readonly view: Record<string, string>;
  readonly headers: string[];
  readonly bodyless: boolean;
  readonly requestId: string;
  readonly startedAt: number;
  readonly clientIp: string;
  body: Readable | null;
  bytesIn: number;
  /** Extra fields merged into the request's wide event (`weir.fault.*`, `weir.shadow`). */
  extra: Record<string, string | number | boolean> | undefined;
  tap: ResponseTap | null;
}
