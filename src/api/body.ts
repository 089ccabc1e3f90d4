/**
 * Request bodies: every route receives the raw bytes (Fastify's bodyLimit caps
 * what arrives on the wire), and this module undoes Content-Encoding with a cap
 * on the decompressed size, so a small compressed bomb cannot blow up memory.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const zstdDecompress = promisify(zlib.zstdDecompress);
const brotliDecompress = promisify(zlib.brotliDecompress);

export async function decodeBody(req: FastifyRequest, maxBytes: number): Promise<Buffer> {
  const raw = req.body;
  const body = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  return decompress(body, encoding, maxBytes);
}

export async function decompress(body: Buffer, encoding: string, maxBytes: number): Promise<Buffer> {
  const options = { maxOutputLength: maxBytes };
  try {
    switch (encoding) {
      case '':
      case 'identity':
        return body;
      case 'gzip':
      case 'x-gzip':
        return await gunzip(body, options);
      case 'deflate':
        return await inflate(body, options);
      case 'zstd':
        return await zstdDecompress(body, options);
      case 'br':
        return await brotliDecompress(body, options);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new HttpError(413, 'body_too_large', `the ${encoding} body decompresses to more than ${maxBytes} bytes`);
    }
    throw new HttpError(400, 'corrupt_body', `the body is not valid ${encoding}: ${e.message}`);
  }
  throw new HttpError(415, 'unsupported_encoding', `Content-Encoding "${encoding}" is not supported (use gzip, zstd, deflate or br)`);
}

/** The media type without parameters, lower-cased ("application/json; charset=utf-8" → "application/json"). */
export function mediaType(req: FastifyRequest): string {
  const ct = req.headers['content-type'];
  return (typeof ct === 'string' ? ct.split(';')[0]! : '').trim().toLowerCase();
}

/** Parses a JSON request body for API (non-ingest) routes. */
export async function jsonBody(req: FastifyRequest, maxBytes: number): Promise<unknown> {
  const buf = await decodeBody(req, maxBytes);
  if (buf.length === 0) return {};
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `the body is not valid JSON: ${(err as Error).message}`);
  }
}
