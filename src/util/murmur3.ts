/**
 * MurmurHash3, x86 32-bit variant, over UTF-8 bytes.
 *
 * Written by hand because it is 30 lines, sits on the proxy's per-request path (sticky split) and on
 * flag evaluation (flagd's `fractional`), and the npm ports either hash UTF-16 code units instead of
 * UTF-8 bytes (which breaks agreement with flagd for non-ASCII keys) or allocate per call.
 *
 * @example
 *   murmur3('flag-keyuser-1') // unsigned 32-bit integer
 */
export function murmur3(key: string, seed = 0): number {
  return murmur3Bytes(utf8(key), seed);
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/**
 * The UTF-8 bytes of `key`. For ASCII keys this is a view of a shared scratch buffer, valid only until
 * the next call: hash it at once (stickyHash hashes one encoding twice).
 */
export function utf8(key: string): Uint8Array {
  // ASCII fast path avoids an allocation for the overwhelmingly common case.
  const n = key.length;
  if (n <= scratch.length) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f) { ascii = false; break; }
      scratch[i] = c;
    }
    if (ascii) return scratch.subarray(0, n);
  } else if (n < 65536) {
    scratch = new Uint8Array(n * 3);
    return utf8(key);
  }
  return encoder.encode(key);
}

/** MurmurHash3 x86_32 of raw bytes; returns an unsigned 32-bit integer. */
export function murmur3Bytes(data: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const len = data.length;
  const blocks = len & ~3;
  let h = seed >>> 0;
  let i = 0;
  for (; i < blocks; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (len & 3) {
    case 3: k ^= data[i + 2] << 16; // falls through
    case 2: k ^= data[i + 1] << 8; // falls through
    case 1:
      k ^= data[i];
      k = Math.imul(k, c1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, c2);
      h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
