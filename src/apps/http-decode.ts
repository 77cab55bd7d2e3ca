/**
 * Content-Encoding decoding for the vendor HTTP client (src/apps/http.ts): gzip, deflate (zlib or
 * raw) and br; small bodies inline, larger ones on the thread pool; an optional cap on the
 * decoded size so a small compressed reply cannot expand past a caller's body limit.
 */
import type http from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/** Above this, compressed bodies are decoded on the thread pool instead of inline. */
const SYNC_DECODE_MAX = 64 * 1024;

/** A response body (raw or decoded) longer than the caller's `maxBodyBytes`. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`response body larger than ${limit} bytes`);
  }
}

export function codings(headers: http.IncomingHttpHeaders): string[] {
  const ce = headers['content-encoding'];
  if (ce === undefined || ce === '' || ce === 'identity') return [];
  return ce.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'identity').reverse();
}

export const KNOWN_CODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/** zlib-wrapped deflate (RFC 1950 header) or raw deflate, as some servers send for "deflate". */
function isZlibWrapped(b: Buffer): boolean {
  return b.length >= 2 && (b[0]! & 0x0f) === 8 && ((b[0]! << 8) | b[1]!) % 31 === 0;
}

const gunzipAsync = promisify(zlib.gunzip);
const inflateAsync = promisify(zlib.inflate);
const inflateRawAsync = promisify(zlib.inflateRaw);
const brotliAsync = promisify(zlib.brotliDecompress);

/** Decodes `body` (codings in decoding order); past `maxBytes` of output it throws BodyTooLarge. */
export async function decodeBuffer(body: Buffer, list: string[], maxBytes?: number): Promise<Buffer> {
  const o = maxBytes === undefined ? {} : { maxOutputLength: maxBytes + 1 };
  let out = body;
  try {
    for (const c of list) {
      if (out.length === 0) break;
      const sync = out.length <= SYNC_DECODE_MAX;
      if (c === 'gzip' || c === 'x-gzip') out = sync ? zlib.gunzipSync(out, o) : await gunzipAsync(out, o);
      else if (c === 'br') out = sync ? zlib.brotliDecompressSync(out, o) : await brotliAsync(out, o);
      else if (isZlibWrapped(out)) out = sync ? zlib.inflateSync(out, o) : await inflateAsync(out, o);
      else out = sync ? zlib.inflateRawSync(out, o) : await inflateRawAsync(out, o);
      if (maxBytes !== undefined && out.length > maxBytes) throw new BodyTooLarge(maxBytes);
    }
  } catch (err) {
    // zlib stops at maxOutputLength with ERR_BUFFER_TOO_LARGE.
    const code = (err as { code?: unknown }).code;
    if (maxBytes !== undefined && code === 'ERR_BUFFER_TOO_LARGE') throw new BodyTooLarge(maxBytes);
    throw err;
  }
  return out;
}

export function decoderStream(c: string): NodeJS.ReadWriteStream {
  if (c === 'br') return zlib.createBrotliDecompress();
  if (c === 'deflate') return zlib.createInflate();
  return zlib.createGunzip();
}

