/** Shared CLI plumbing: argument parsing with clear errors, and the server URL/token for client commands. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

export function parse<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    const all = { ...HELP_OPTION, ...options } as typeof HELP_OPTION & O;
    return parseArgs({ args: argv, options: all, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export const clientOptions = {
  url: { type: 'string' },
  token: { type: 'string' },
} as const;

/** Server URL and token for commands that talk to a running server: flags, then CAIRN_URL / CAIRN_TOKEN. */
export function clientTarget(values: { url?: unknown; token?: unknown }): { url: string; token: string | undefined } {
  const url = String(values.url ?? process.env.CAIRN_URL ?? 'http://127.0.0.1:7480').replace(/\/+$/, '');
  const token = (values.token as string | undefined) ?? process.env.CAIRN_TOKEN;
  return { url, token };
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Turns a JSON error body from the server into one line for the terminal. */
export async function responseError(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: string };
    return `${res.status}: ${body.error ?? text}`;
  } catch {
    return `${res.status}: ${text.slice(0, 500)}`;
  }
}

/**
 * GET `path` on the server the flags name (url, token), with the string flags
 * listed in `params` as query parameters besides `query`. The JSON body; or,
 * when the server refuses, undefined after printing its error for `command`.
 */
export async function getFromServer<T>(
  command: string,
  values: Record<string, unknown>,
  path: string,
  query: Record<string, string> = {},
  params: readonly string[] = [],
): Promise<T | undefined> {
  const { url, token } = clientTarget(values);
  const search = new URLSearchParams(query);
  for (const key of params) {
    const v = values[key];
    if (typeof v === 'string') search.set(key, v);
  }
  const qs = search.toString();
  const res = await fetch(`${url}${path}${qs ? `?${qs}` : ''}`, { headers: authHeaders(token) });
  if (!res.ok) {
    console.error(`${command}: ${await responseError(res)}`);
    return undefined;
  }
  return (await res.json()) as T;
}

