import { test } from 'node:test';
import assert from 'node:assert/strict';
import { journaldInputSchema } from '../config.ts';
import { journalctlArgs } from './index.ts';

test('journalctl arguments: export output, follow from the cursor (or all), units and matches, journal location', () => {
  const cfg = journaldInputSchema.parse({ units: ['nginx.service', 'api.service'], matches: ['_TRANSPORT=kernel'], directory: '/var/log/journal/remote' });
  assert.deepEqual(journalctlArgs(cfg, { cursor: 's=1;i=2' }), [
    '--output=export', '--no-pager', '--all', '--directory=/var/log/journal/remote', '--follow', '--after-cursor=s=1;i=2', '--unit=nginx.service', '--unit=api.service', '_TRANSPORT=kernel',
  ]);
  assert.deepEqual(journalctlArgs(journaldInputSchema.parse({}), {}), ['--output=export', '--no-pager', '--all', '--follow', '--no-tail'], 'no cursor: everything stored');
  assert.deepEqual(journalctlArgs(journaldInputSchema.parse({ files: ['/a.journal'] }), { newest: true }), ['--output=export', '--no-pager', '--all', '--file=/a.journal', '--lines=1']);
  assert.throws(() => journaldInputSchema.parse({ matches: ['nope'] }), /FIELD=value/);
});
