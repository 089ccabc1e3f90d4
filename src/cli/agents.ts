/** `cairn agents`: agents seen by a running server, and the per-access-key agent configs. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../config/load.ts';
import { TENANT_PATTERN } from '../config/schema.ts';
import type { AgentStatusJson } from '../sources/agent/agents.ts';
import { AgentConfigError, AgentConfigStore } from '../sources/agent/configs.ts';
import { UsageError, clientOptions, getFromServer, parse } from './args.ts';

export const summary = 'agent status and per-access-key agent configs';

const HELP = `usage:
  cairn agents list [--url URL] [--token TOKEN] [--json]
  cairn agents config set KEY FILE [--tenant T]
  cairn agents config get KEY [--tenant T]
  cairn agents config list [--tenant T]
  cairn agents config delete KEY [--tenant T]

"list" asks a running server which agents it has heard from (read role).
"config" edits the configs agents fetch by access key (gRPC AgentConfig and
WatchConfig), stored in <data>/agents/configs.json; a running server serves a
change within a second and pushes it to watching agents. FILE is JSON or YAML
holding one object ("-" reads stdin). See docs/protocols/agent-grpc.md.

options:
  --tenant T       the tenant whose configs to edit (default: auth.open_tenant)
  --data DIR       data directory (default ./data, or server.data_dir of --config)
  --config FILE    take the data directory from this configuration file
  --url URL        server for "list" (default $CAIRN_URL or http://127.0.0.1:7480)
  --token TOKEN    API token for "list" (default $CAIRN_TOKEN)
  --json           machine-readable output
  -h, --help       show this help`;

function readObject(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new UsageError(`${file} is not JSON or YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

async function listAgents(values: { url?: string; token?: string; json?: boolean }): Promise<number> {
  const body = await getFromServer<{ agents: AgentStatusJson[] }>('cairn agents', values, '/api/v1/agents');
  if (!body) return 1;
  const { agents } = body;
  if (values.json) console.log(JSON.stringify(agents));
  else if (agents.length === 0) console.log('no agents');
  else {
    for (const a of agents) {
      const lag = a.lag_ms === null ? '' : `  lag=${a.lag_ms}ms`;
      console.log(`${a.agent_id}  host=${a.hostname || '-'}  version=${a.version || '-'}  streams=${a.streams}  last_seen=${a.last_seen}  records=${a.records_accepted}${lag}`);
    }
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...clientOptions,
      data: { type: 'string' },
      config: { type: 'string', short: 'c' },
      tenant: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [sub, action, ...rest] = positionals;
  if (sub === 'list') return listAgents(values);
  if (sub !== 'config') throw new UsageError('expected a subcommand: list or config');
  const config = loadConfig({ file: values.config, flags: { 'server.data_dir': values.data } });
  const tenant = values.tenant ?? config.auth.open_tenant;
  if (!TENANT_PATTERN.test(tenant)) throw new UsageError(`--tenant: "${tenant}" is not a valid tenant name`);
  const store = new AgentConfigStore(config.server.data_dir, config.sources.agent.max_config_bytes);
  const key = rest[0];
  switch (action) {
    case 'set': {
      if (!key || !rest[1]) throw new UsageError('expected: cairn agents config set KEY FILE');
      try {
        const entry = store.set(tenant, key, readObject(rest[1]));
        console.log(values.json ? JSON.stringify({ access_key: key, ...entry }) : `config "${key}" of tenant "${tenant}" is now version ${entry.version} (etag ${entry.etag})`);
      } catch (err) {
        if (err instanceof AgentConfigError) throw new UsageError(err.message);
        throw err;
      }
      return 0;
    }
    case 'get': {
      if (!key) throw new UsageError('expected: cairn agents config get KEY');
      const entry = store.get(tenant, key);
      if (!entry) {
        console.error(`no config for access key "${key}" in tenant "${tenant}"`);
        return 1;
      }
      console.log(JSON.stringify(values.json ? { access_key: key, ...entry } : entry.config, null, values.json ? undefined : 2));
      return 0;
    }
    case 'list': {
      const list = store.list(tenant);
      if (values.json) console.log(JSON.stringify(list));
      else if (list.length === 0) console.log('no agent configs');
      else for (const c of list) console.log(`${c.access_key}  version=${c.version}  etag=${c.etag}  updated=${c.updated}`);
      return 0;
    }
    case 'delete': {
      if (!key) throw new UsageError('expected: cairn agents config delete KEY');
      if (!store.delete(tenant, key)) {
        console.error(`no config for access key "${key}" in tenant "${tenant}"`);
        return 1;
      }
      console.log(`deleted config "${key}"`);
      return 0;
    }
    default:
      throw new UsageError('expected: cairn agents config set|get|list|delete');
  }
}
