import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withAgentReference } from './doc.ts';

test('the configuration reference in docs/agent.md matches the schema (run `npm run docs:config` after changing it)', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'agent.md'), 'utf8');
  assert.equal(doc, withAgentReference(doc));
});
