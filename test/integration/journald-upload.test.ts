/**
 * Debian's systemd-journal-upload ships real journal files to Cairn: the files
 * are written by systemd-journal-remote from export-format input, so every
 * byte on the wire is systemd's own. Plain HTTP and HTTPS with client
 * certificates (made here with openssl).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { TokenStore } from '../../src/auth/tokens.ts';
import { freePort, query, startTestServer, tempDir, type TestServer } from '../helpers/server.ts';
import { binaryField, exportEntry, textField } from '../helpers/journal-export.ts';

const UPLOAD = '/lib/systemd/systemd-journal-upload';
const REMOTE = '/lib/systemd/systemd-journal-remote';
const FROM = { from: '2000-01-01T00:00:00Z', limit: '10000' };
const run = promisify(execFile);

/** Writes a real journal file from export-format input (systemd-journal-remote reads it on stdin). */
function writeJournal(path: string, input: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(REMOTE, ['-o', path, '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`systemd-journal-remote exited ${code}: ${err}`))));
    child.stdin.end(input);
  });
}

interface UploadResult {
  code: number;
  log: string;
}

/**
 * Runs systemd-journal-upload to completion and returns its exit code and log.
 * Journal input needs --follow=no to end; raw export files given as arguments
 * must not get it (252 then never starts their upload).
 */
async function journalUpload(args: string[]): Promise<UploadResult> {
  const follow = args.includes('--file') ? ['--follow=no'] : [];
  try {
    const { stderr } = await run(UPLOAD, [...follow, ...args], { timeout: 120_000, env: { ...process.env, SYSTEMD_LOG_LEVEL: 'debug' } });
    return { code: 0, log: stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, log: e.stderr ?? String(err) };
  }
}

let seq = 0;
function entry(fields: Record<string, string | Buffer>, binary: string[] = []): Buffer {
  seq++;
  const base = { __REALTIME_TIMESTAMP: String(1714557600000000 + seq), _BOOT_ID: '0123456789abcdef0123456789abcdef', ...fields };
  return exportEntry(...Object.entries(base).map(([k, v]) => (binary.includes(k) || Buffer.isBuffer(v) ? binaryField(k, v) : textField(k, v as string))));
}

describe('systemd-journal-upload over plain HTTP', () => {
  let s: TestServer;
  let dir: string;
  before(async () => {
    dir = tempDir('cairn-journal-');
    s = await startTestServer({ sources: { journald: { batch_entries: 500 } } });
  });
  after(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a journal file arrives whole: binary-safe fields, multi-line messages, unit/host/priority mapping', async () => {
    const file = join(dir, 'mapping.journal');
    await writeJournal(
      file,
      Buffer.concat([
        entry({ _HOSTNAME: 'web-1', _SYSTEMD_UNIT: 'nginx.service', SYSLOG_IDENTIFIER: 'nginx', PRIORITY: '3', MESSAGE: 'upstream timed out', _PID: '812' }),
        entry({ _HOSTNAME: 'web-1', SYSLOG_IDENTIFIER: 'backup', PRIORITY: '5', MESSAGE: 'multi-line\nsecond line\n\tindented third' }, ['MESSAGE']),
        entry({ _HOSTNAME: 'db-1', _EXE: '/opt/app/bin/app', PRIORITY: '7', MESSAGE: 'binary fields follow', BLOB: Buffer.from([0x00, 0xff, 0x10, 0x0a, 0x0a, 0x3d]), NUL: 'a\u0000b' }, ['NUL']),
      ]),
    );
    const state = join(dir, 'mapping.state');
    const up = await journalUpload(['--file', file, '--url', s.url, `--save-state=${state}`]);
    assert.equal(up.code, 0, up.log);
    assert.match(up.log, /Upload finished successfully with code 202: OK\. 3 entries stored\./);
    assert.match(readFileSync(state, 'utf8'), /^LAST_CURSOR=s=/m);

    const { body } = await query(s.url, FROM);
    const by = (text: string) => body.records.find((r: any) => r.message.startsWith(text));
    const a = by('upstream timed out');
    assert.deepEqual([a.host, a.unit, a.severity, a.level, a.os, a.type, a.attrs._PID], ['web-1', 'nginx.service', 3, 'err', 'linux', 'system', '812']);
    assert.match(a.ts_ns, /^17145576000000\d\d000$/);
    const b = by('multi-line');
    assert.equal(b.message, 'multi-line\nsecond line\n\tindented third');
    assert.deepEqual([b.unit, b.level], ['backup', 'notice']);
    const c = by('binary fields');
    assert.deepEqual([c.host, c.type, c.level], ['db-1', 'application', 'debug']);
    assert.deepEqual(c.attrs.BLOB, { base64: Buffer.from([0x00, 0xff, 0x10, 0x0a, 0x0a, 0x3d]).toString('base64') });
    assert.equal(c.attrs.NUL, 'a\u0000b');
    assert.equal(c.attrs._BOOT_ID, '0123456789abcdef0123456789abcdef');
  });

  test('thousands of entries in one streamed upload; a second run resumes at the saved cursor', async () => {
    const file = join(dir, 'bulk.journal');
    const n = 4000;
    await writeJournal(file, Buffer.concat(Array.from({ length: n }, (_, i) => entry({ _HOSTNAME: 'bulk-host', SYSLOG_IDENTIFIER: 'bulk', MESSAGE: `bulk entry ${i} ${'x'.repeat(i % 200)}` }))));
    const state = join(dir, 'bulk.state');
    let up = await journalUpload(['--file', file, '--url', s.url, `--save-state=${state}`]);
    assert.equal(up.code, 0, up.log);
    assert.match(up.log, new RegExp(`OK\\. ${n} entries stored`));
    const count = async () => (await query(s.url, { q: 'host:bulk-host', ...FROM })).body.records.length;
    assert.equal(await count(), n);
    // systemd-journal-upload (252) resumes AT its saved cursor, so the entry there
    // comes again: same fields, so the same derived record id.
    up = await journalUpload(['--file', file, '--url', s.url, `--save-state=${state}`]);
    assert.equal(up.code, 0, up.log);
    assert.match(up.log, /OK\. 1 entries stored/);
    assert.equal(await count(), n + 1);
    const last = (await query(s.url, { q: `"bulk entry ${n - 1} "`, ...FROM })).body.records;
    assert.equal(last.length, 2);
    assert.equal(last[0].id, last[1].id);
  });

  test('a corrupt export stream (uploaded raw by systemd-journal-upload) is refused with a reason; the server carries on', async () => {
    const bad = join(dir, 'bad.export');
    writeFileSync(bad, Buffer.concat([entry({ MESSAGE: 'before the garbage' }), randomBytes(3000)]));
    const up = await journalUpload(['--url', s.url, bad]);
    assert.notEqual(up.code, 0);
    assert.match(up.log, /failed with code 400: not journal export format at byte \d+/);
    const good = join(dir, 'good.export');
    writeFileSync(good, entry({ MESSAGE: 'after the garbage' }));
    assert.equal((await journalUpload(['--url', s.url, good])).code, 0);
    assert.equal((await query(s.url, { q: '"after the garbage"', ...FROM })).body.records.length, 1);
  });
});

describe('systemd-journal-upload: tenancy', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = tempDir('cairn-journal-tls-');
    file = join(dir, 'tenant.journal');
    await writeJournal(file, Buffer.concat([entry({ _HOSTNAME: 'tls-host', MESSAGE: 'tenant check one' }), entry({ _HOSTNAME: 'tls-host', MESSAGE: 'tenant check two' })]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('token mode without a configured tenant: the upload fails, the cursor is not saved', async () => {
    const s = await startTestServer({ auth: { mode: 'token' } });
    try {
      const state = join(dir, 'refused.state');
      const up = await journalUpload(['--file', file, '--url', s.url, `--save-state=${state}`]);
      assert.notEqual(up.code, 0);
      assert.match(up.log, /failed with code 401: an upload needs a tenant/);
      assert.equal(existsSync(state) && /LAST_CURSOR/.test(readFileSync(state, 'utf8')), false);
    } finally {
      await s.stop();
    }
  });

  test('HTTPS with client certificates: the certificate CN picks the tenant; unknown CNs and foreign CAs are refused', async () => {
    const pki = join(dir, 'pki');
    await makePki(pki);
    const tlsPort = await freePort();
    const s = await startTestServer({
      auth: { mode: 'token' },
      sources: {
        journald: {
          tls_listen: `127.0.0.1:${tlsPort}`,
          tls_cert: join(pki, 'server.pem'),
          tls_key: join(pki, 'server.key'),
          tls_client_ca: join(pki, 'ca.pem'),
          tls_tenants: { 'host-a': 'acme' },
        },
      },
    });
    try {
      const url = `https://127.0.0.1:${tlsPort}`;
      const as = (client: string) => ['--key', join(pki, `${client}.key`), '--cert', join(pki, `${client}.pem`), '--trust', join(pki, 'ca.pem')];
      const state = join(dir, 'tls.state');
      const ok = await journalUpload(['--file', file, '--url', url, `--save-state=${state}`, ...as('host-a')]);
      assert.equal(ok.code, 0, ok.log);
      assert.match(readFileSync(state, 'utf8'), /LAST_CURSOR=/);

      const stranger = await journalUpload(['--file', file, '--url', url, ...as('stranger')]);
      assert.notEqual(stranger.code, 0);
      assert.match(stranger.log, /failed with code 403: client certificate CN="stranger" maps to no tenant/);
      const rogue = await journalUpload(['--file', file, '--url', url, ...as('rogue')]);
      assert.notEqual(rogue.code, 0, 'a certificate from another CA fails the TLS handshake');

      const store = new TokenStore(s.dataDir);
      const acme = store.create({ tenant: 'acme', role: 'read' }).token;
      const other = store.create({ tenant: 'default', role: 'read' }).token;
      await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
      const mine = await query(s.url, { q: '"tenant check"', ...FROM }, { authorization: `Bearer ${acme}` });
      assert.deepEqual(mine.body.records.map((r: any) => r.tenant).sort(), ['acme', 'acme']);
      const theirs = await query(s.url, { q: '"tenant check"', ...FROM }, { authorization: `Bearer ${other}` });
      assert.equal(theirs.body.records.length, 0);
    } finally {
      await s.stop();
    }
  });
});

/** A CA, a server certificate for 127.0.0.1, clients host-a and stranger, and host-a again from a rogue CA. */
async function makePki(pki: string): Promise<void> {
  await run('mkdir', ['-p', pki]);
  const ssl = (args: string[]) => run('openssl', args, { cwd: pki });
  const ca = async (name: string) => ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
  const cert = async (name: string, cn: string, signer: string, ext?: string) => {
    await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    const extArgs = ext ? ['-extfile', ext] : [];
    await ssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...extArgs]);
  };
  writeFileSync(join(pki, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await ca('ca');
  await ca('rogue-ca');
  await cert('server', '127.0.0.1', 'ca', 'server.ext');
  await cert('host-a', 'host-a', 'ca');
  await cert('stranger', 'stranger', 'ca');
  await cert('rogue', 'host-a', 'rogue-ca');
}
