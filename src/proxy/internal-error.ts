/*
 * Weir's own bugs on the request path, contained. An exception thrown while handling one request (in
 * routing, a tap, the event consumers) is caught where the proxy's callbacks are entered from llhttp
 * and the sockets, as Go's net/http recovers a handler's panic: that request gets a 500 (or its
 * connection is closed when the status is already on the wire) and the proxy goes on serving
 * everyone else. Uncaught, the exception would end the process and every request in flight with it.
 * Each one is counted (`weir_proxy_internal_errors_total`) and logged with its stack, at most one log
 * line per interval so that a bug hit by every request cannot flood the log.
 */

/** At most one stack is written per this many ms; the rest are counted into the next line. */
export const LOG_INTERVAL_MS = 10_000;

let count = 0;
let lastLogAt = Number.NEGATIVE_INFINITY;
let unlogged = 0;
let write: (line: string) => void = (line) => process.stderr.write(line);

/** Internal errors contained since the process started (with those its proxy workers reported). */
export function internalErrorCount(): number {
  return count;
}

/** Adds errors a proxy worker process contained (and logged itself), so this process's metric counts them. */
export function addWorkerInternalErrors(n: number): void {
  count += n;
}

/** Where the log lines go (tests read them), starting a fresh interval; returns the previous writer. */
export function setInternalErrorLog(fn: (line: string) => void): (line: string) => void {
  const prev = write;
  write = fn;
  lastLogAt = Number.NEGATIVE_INFINITY;
  unlogged = 0;
  return prev;
}

/**
 * Counts and logs one contained internal error. `where` names the step (`request`, `response`, …).
 * @example try { handle(req) } catch (err) { reportInternalError(err, 'request') }
 */
export function reportInternalError(err: unknown, where: string, now: number = performance.now()): void {
  count++;
  if (now - lastLogAt < LOG_INTERVAL_MS) {
    unlogged++;
    return;
  }
  lastLogAt = now;
  const more = unlogged > 0 ? ` (${unlogged} more since the last report)` : '';
  unlogged = 0;
  const detail = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  write(`weir: internal error while handling a ${where}${more}; that request was answered 500 or its connection closed, and the proxy goes on serving. This is a bug in Weir, please report it with this trace:\n${detail}\n`);
}
