/** Regenerates docs/configuration.md from the configuration schema. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationDoc } from '../src/config/doc.ts';

const file = join(import.meta.dirname, '..', 'docs', 'configuration.md');
writeFileSync(file, configurationDoc());
console.log(`wrote ${file}`);
