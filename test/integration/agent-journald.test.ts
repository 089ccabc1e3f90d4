/**
 * The journald input with the real journalctl. This machine runs no
 * systemd-journald (journalctl finds no system journal here), so the journal
 * is a real journal file written by systemd-journal-remote from export-format
 * input, and the input follows it with `journalctl --directory`: the same
 * journalctl code path (export output, --follow, --after-cursor) as on a host
 * with a journal, only the files' location differs.
 *
 * Entries are appended while the agent follows; the agent is stopped, more
 * entries come, it starts again and continues after its cursor (no gap, no
 * repeat); a new agent with start_at: end skips the history.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../../src/agent/agent.ts';
import { loadAgentConfig } from '../../src/agent/config.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { binaryField, exportEntry, textField } from '../helpers/journal-export.ts';
import { freePort, startTestServer, tempDir } from '../helpers/server.ts';
import { waitFor } from '../helpers/agent.ts';

const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';
const BOOT = '0123456789abcdef0123456789abcdef';

/** Appends entries to dir/remote.journal with systemd-journal-remote. */
function journal(dir: string, entries: { n: number; message: string | Buffer; unit?: string; priority?: number }[]): void {
  const input = Buffer.concat(
    entries.map((e) =>
      exportEntry(
        textField('__REALTIME_TIMESTAMP', String(1_714_557_600_000_000 + e.n * 1000)),
        textField('__MONOTONIC_TIMESTAMP', String(1000 + e.n)),
        textField('_BOOT_ID', BOOT),
        textField('_HOSTNAME', 'web-1'),
        textField('_SYSTEMD_UNIT', e.unit ?? 'nginx.service'),
        textField('PRIORITY', String(e.priority ?? 6)),
        textField('SEQ', String(e.n)),
        typeof e.message === 'string' ? textField('MESSAGE', e.message) : binaryField('MESSAGE', e.message),
      ),
    ),
  );
  const r = spawnSync(JOURNAL_REMOTE, [`--output=${join(dir, 'remote.journal')}`, '-'], { input });
  assert.equal(r.status, 0, `systemd-journal-remote failed: ${r.stderr}`);
}

test('journald input: real journalctl following a journal, cursor kept across restarts, start_at end', { timeout: 120_000 }, async () => {
  const dir = tempDir('cairn-agent-journal-');
  const journalDir = join(dir, 'journal');
  mkdirSync(journalDir);
  const grpcPort = await freePort();
  const server = await startTestServer({ auth: { mode: 'token' }, query: { max_limit: 100_000 }, sources: { grpc: { listen: `127.0.0.1:${grpcPort}` } } });
  const token = server.auth.tokens.create({ tenant: 'hosts', role: 'ingest' }).token;
  const read = { authorization: `Bearer ${server.auth.tokens.create({ tenant: 'hosts', role: 'read' }).token}` };
  const search = async (q: string) => {
    const res = await fetch(`${server.url}/api/v1/query?${new URLSearchParams({ q, from: '2000-01-01T00:00:00Z', limit: '10000', order: 'asc' })}`, { headers: read });
    return ((await res.json()) as { records: any[] }).records;
  };
  const agentOf = (dataDir: string, startAt: string) =>
    startAgent(
      loadAgentConfig({
        file: undefined,
        flags: {
          'server.url': { value: `grpc://127.0.0.1:${grpcPort}`, flag: '--server' },
          'server.token': { value: token, flag: '--token' },
          'agent.data_dir': { value: dataDir, flag: '--data' },
          'inputs.journald': { value: { directory: journalDir, start_at: startAt, service: 'edge' }, flag: 'test' },
        },
      }),
      silentLogger,
      'test',
    );

  journal(journalDir, [
    { n: 1, message: 'journal one', priority: 3 },
    { n: 2, message: Buffer.from('journal two\nsecond line\u0000nul'), unit: 'api.service' },
    { n: 3, message: 'journal three' },
  ]);
  let agent: RunningAgent = await agentOf(join(dir, 'agent'), 'beginning');
  try {
    await waitFor('the first entries', async () => (await search('journal')).length >= 3 || undefined);
    journal(journalDir, [{ n: 4, message: 'journal four (followed)' }]);
    await waitFor('a followed entry', async () => (await search('journal')).length >= 4 || undefined);
    await agent.close();
    journal(journalDir, [{ n: 5, message: 'journal five (while the agent was down)' }]);
    agent = await agentOf(join(dir, 'agent'), 'beginning');
    await waitFor('the entry written while down', async () => (await search('journal')).length >= 5 || undefined);
    await new Promise((r) => setTimeout(r, 500));
    const all = await search('journal');
    assert.deepEqual(all.map((r) => r.attrs.SEQ).sort(), ['1', '2', '3', '4', '5'], 'each entry once');
    const one = all.find((r) => r.attrs.SEQ === '1');
    assert.deepEqual([one.host, one.unit, one.severity, one.os, one.service, one.ts_ns], ['web-1', 'nginx.service', 3, 'linux', 'edge', '1714557600001000000']);
    assert.equal(all.find((r) => r.attrs.SEQ === '2').message, 'journal two\nsecond line\u0000nul', 'binary-safe');
    await agent.close();

    // A new agent starting at the end: history skipped, new entries shipped.
    agent = await agentOf(join(dir, 'agent-end'), 'end');
    await new Promise((r) => setTimeout(r, 1500));
    journal(journalDir, [{ n: 6, message: 'journal six (after the new agent started)' }]);
    await waitFor('the new entry', async () => (await search('journal')).length >= 6 || undefined);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await search('journal')).length, 6, 'the second agent shipped only the new entry');
  } finally {
    await agent.close();
    await server.stop();
  }
});
