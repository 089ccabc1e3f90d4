import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationDoc } from './doc.ts';

test('docs/configuration.md matches the schema (run `npm run docs:config` after changing it)', () => {
  const file = join(import.meta.dirname, '..', '..', 'docs', 'configuration.md');
  assert.equal(readFileSync(file, 'utf8'), configurationDoc());
});
