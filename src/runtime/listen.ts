/**
 * Splits a listen address into host and port; IPv6 hosts come in brackets.
 *
 * @example
 *   splitListen('[::1]:8080') // { host: '::1', port: 8080 }
 */
export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host, port: Number(listen.slice(i + 1)) };
}

/**
 * A listener's address as a URL host: IPv6 in brackets.
 *
 * @example
 *   urlHost('::1') // '[::1]'
 */
export function urlHost(h: string): string {
  return h.includes(':') ? `[${h}]` : h;
}
