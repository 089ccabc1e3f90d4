/** `cairn token create|list|revoke`: API tokens, stored hashed in the data directory. */
import { loadConfig } from '../config/load.ts';
import { TENANT_PATTERN } from '../config/schema.ts';
import { ROLES, TokenStore, type Role } from '../auth/tokens.ts';
import { parseDurationMs } from '../util/duration.ts';
import { UsageError, parse } from './args.ts';

export const summary = 'create, list and revoke API tokens';

const HELP = `usage:
  cairn token create --tenant T --role ingest|read|admin [--expires 30d] [--name TEXT] [--jwt]
  cairn token list
  cairn token revoke ID

The token is printed once and stored only as a hash, in <data>/auth/tokens.json.
A running server picks up new and revoked tokens within a second.
With --jwt the token is a JWT signed with the data directory's Ed25519 key
(<data>/auth/jwt-ed25519.pem, made on first use); it always expires (default
30d) and "revoke" works for it by its id (the JWT's jti).

options:
  --data DIR       data directory (default ./data, or server.data_dir of --config)
  --config FILE    take the data directory from this configuration file
  --tenant T       the tenant every request with this token acts as
  --role R         ingest (send logs), read (query), admin (everything)
  --expires D      lifetime, e.g. 12h, 30d, 1y (default: no expiry; 30d with --jwt)
  --jwt            issue a signed JWT (for agents: self-describing, with an expiry)
  --name TEXT      a note to tell tokens apart in "list"
  --json           machine-readable output
  -h, --help       show this help`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      data: { type: 'string' },
      config: { type: 'string', short: 'c' },
      tenant: { type: 'string' },
      role: { type: 'string' },
      expires: { type: 'string' },
      name: { type: 'string' },
      jwt: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const config = loadConfig({ file: values.config, flags: { 'server.data_dir': values.data } });
  const store = new TokenStore(config.server.data_dir);
  const [sub, ...rest] = positionals;
  switch (sub) {
    case 'create': {
      const tenant = values.tenant;
      if (!tenant) throw new UsageError('--tenant is required');
      if (!TENANT_PATTERN.test(tenant)) throw new UsageError(`--tenant: "${tenant}" is not a valid tenant name (letters, digits, ".", "_", "-"; at most 63)`);
      const role = values.role as Role | undefined;
      if (!role || !ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
      let expiresMs: number | undefined;
      if (values.expires) {
        expiresMs = parseDurationMs(values.expires);
        if (!expiresMs) throw new UsageError(`--expires: "${values.expires}" is not a duration (e.g. 12h, 30d)`);
      }
      const { token, entry } = values.jwt
        ? await store.createJwt({ tenant, role, expiresMs: expiresMs ?? parseDurationMs('30d')!, name: values.name })
        : store.create({ tenant, role, expiresMs, name: values.name });
      if (values.json) console.log(JSON.stringify({ token, ...entry, hash: undefined }));
      else {
        console.log(token);
        console.error(`${values.jwt ? 'JWT' : 'token'} ${entry.id} for tenant "${tenant}", role ${role}${entry.expires ? `, expires ${entry.expires}` : ''}. It is shown only this once.`);
      }
      return 0;
    }
    case 'list': {
      const list = store.list().map(({ hash: _hash, ...rest }) => rest);
      if (values.json) console.log(JSON.stringify(list));
      else if (list.length === 0) console.log('no tokens');
      else {
        for (const t of list) {
          console.log(`${t.id}  ${t.kind === 'jwt' ? 'jwt     ' : 'opaque  '}tenant=${t.tenant}  role=${t.role}  created=${t.created}  expires=${t.expires ?? 'never'}${t.name ? `  name=${t.name}` : ''}`);
        }
      }
      return 0;
    }
    case 'revoke': {
      const id = rest[0];
      if (!id) throw new UsageError('expected: cairn token revoke ID');
      if (!store.revoke(id)) {
        console.error(`no token with id ${id}`);
        return 1;
      }
      console.log(`revoked ${id}`);
      return 0;
    }
    default:
      throw new UsageError('expected a subcommand: create, list or revoke');
  }
}
