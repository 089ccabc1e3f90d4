/** The sample .evtx files in ../shared/data/windows (CAIRN_EVTX_DIR overrides) and what they hold. */
import { join } from 'node:path';
import { sharedDataDir } from './shared-data.ts';

export const EVTX_DIR = sharedDataDir('windows', 'CAIRN_EVTX_DIR');

export const SAMPLES = ['security.evtx', 'system.evtx', 'sysmon.evtx', 'Application_no_crc32.evtx', 'sample_with_a_bad_chunk_magic.evtx'] as const;

/**
 * Records per clean file: the sum over its chunks of (last - first record
 * number + 1), which python-evtx also returns (checked in test/integration).
 */
export const CLEAN_COUNTS: Record<string, number> = {
  'security.evtx': 2261,
  'system.evtx': 1881,
  'sysmon.evtx': 358,
  'Application_no_crc32.evtx': 17,
};

export function sampleFile(name: string): string {
  return join(EVTX_DIR, name);
}
