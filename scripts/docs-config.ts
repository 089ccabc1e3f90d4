/** Regenerates docs/configuration.md and the agent's reference in docs/agent.md from the configuration schemas. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationDoc } from '../src/config/doc.ts';
import { withAgentReference } from '../src/agent/doc.ts';

const docs = join(import.meta.dirname, '..', 'docs');
writeFileSync(join(docs, 'configuration.md'), configurationDoc());
const agentDoc = join(docs, 'agent.md');
writeFileSync(agentDoc, withAgentReference(readFileSync(agentDoc, 'utf8')));
console.log(`wrote ${join(docs, 'configuration.md')} and the reference in ${agentDoc}`);
