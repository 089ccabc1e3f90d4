/**
 * The forward source with fluent-logger-python (Debian's python3-fluent-logger,
 * the Fluentd project's Python client; scripts/install-deps.sh installs it): its
 * FluentSender with nanosecond EventTime and integer seconds, and its logging
 * handler, as a Python application would ship logs. An independent msgpack
 * encoder (python3-msgpack) from the one in Cairn's own tests. Debian's python3
 * (/usr/bin/python3) is the one that sees Debian's Python packages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { freePort, query, startTestServer } from '../helpers/server.ts';

const SCRIPT = `
import logging, sys
from fluent import sender, handler
port = int(sys.argv[1])
s = sender.FluentSender('py', host='127.0.0.1', port=port, nanosecond_precision=True)
assert s.emit_with_time('app', 1714557600.123456, {'message': 'python event time', 'level': 'warning', 'user': {'id': 7}, 'raw_bytes': b'bytes value'}), s.last_error
s.close()
s = sender.FluentSender('py', host='127.0.0.1', port=port)
assert s.emit_with_time('app', 1714557601, {'msg': 'python integer time'}), s.last_error
s.close()
h = handler.FluentHandler('py.logging', host='127.0.0.1', port=port)
h.setFormatter(handler.FluentRecordFormatter({'host': '%(hostname)s', 'where': '%(module)s.%(funcName)s', 'level': '%(levelname)s'}))
log = logging.getLogger('cairn-test')
log.addHandler(h)
log.error({'message': 'python logging handler', 'order': 12345})
h.close()
`;

test('fluent-logger-python: EventTime, integer seconds and the logging handler', async () => {
  const port = await freePort();
  const s = await startTestServer({ sources: { forward: { listen: `127.0.0.1:${port}` } } });
  try {
    const run = spawnSync('/usr/bin/python3', ['-c', SCRIPT, String(port)], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    // The Python client does not ask for acks: wait until the three records are stored.
    let records: any[] = [];
    for (let i = 0; i < 50 && records.length < 3; i++) {
      records = (await query(s.url, { q: 'python', from: '2024-01-01T00:00:00Z', order: 'asc' })).body.records;
      if (records.length < 3) await new Promise((r) => setTimeout(r, 100));
    }
    const byMessage = Object.fromEntries(records.map((r) => [r.message, r]));
    const a = byMessage['python event time'];
    assert.deepEqual([a.unit, a.level, a.ts.slice(0, 26), a.attrs.user, a.attrs.raw_bytes], ['py.app', 'warning', '2024-05-01T10:00:00.123456', { id: 7 }, 'bytes value']);
    assert.equal(byMessage['python integer time'].ts, '2024-05-01T10:00:01.000000000Z');
    const l = byMessage['python logging handler'];
    assert.deepEqual([l.unit, l.level, l.attrs.order, l.attrs.where], ['py.logging', 'err', 12345, '<string>.<module>']);
    assert.ok(l.host.length > 0);
  } finally {
    await s.stop();
  }
});
