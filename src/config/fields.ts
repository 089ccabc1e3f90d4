/** Value types shared by the server's and the agent's configuration schemas: durations, sizes, addresses, networks, tenant names. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseByteSize, parseDurationMs } from '../util/duration.ts';

export const duration = (what = 'a duration such as 500ms, 30s, 5m, 1h, 7d') =>
  z.union([z.string(), z.number()]).meta({ format: 'duration' }).transform((value, ctx) => {
    const ms = typeof value === 'number' ? value * 1000 : parseDurationMs(value);
    if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: `expected ${what}, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return ms;
  });

export const byteSize = () =>
  z.union([z.string(), z.number()]).meta({ format: 'size' }).transform((value, ctx) => {
    const bytes = parseByteSize(value);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a size such as 512KiB, 16MiB or 1GiB, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return bytes;
  });

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;
export const hostPort = () =>
  z.string().refine((v) => HOST_PORT.test(v) && Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, {
    message: 'expected HOST:PORT, for example 127.0.0.1:7480 or 0.0.0.0:7480',
  });

/** An IPv4 or IPv6 network in CIDR notation (10.0.0.0/8, fd00::/8). */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const family = isIP(address) === 4 ? 'ipv4' : isIP(address) === 6 ? 'ipv6' : undefined;
  if (!family || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (family === 'ipv4' ? 32 : 128)) return undefined;
  return { address, prefix, family };
}

export const cidr = () =>
  z.string().refine((v) => parseCidr(v) !== undefined, { message: 'expected a network such as 10.0.0.0/8 or fd00::/8' });

export const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const tenantName = () =>
  z.string().regex(TENANT_PATTERN, 'a tenant is 1-63 characters of letters, digits, ".", "_" and "-", starting with a letter or digit');

