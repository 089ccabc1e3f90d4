/**
 * The Elasticsearch endpoints shippers call before they send: the version
 * check (GET /), license and feature probes, and index template / ILM policy /
 * ingest pipeline / data stream setup. Cairn has none of these things, so
 * every probe answers "present" and every setup call "acknowledged": the
 * shipper then goes straight on to _bulk.
 */
import { createHash } from 'node:crypto';

const EPOCH_MS = Date.UTC(2024, 0, 1);
const EPOCH_ISO = new Date(EPOCH_MS).toISOString();

export function clusterInfo(version: string, name: string): Record<string, unknown> {
  const uuid = createHash('sha256').update(`cairn:${name}`).digest('base64url').slice(0, 22);
  return {
    name: 'cairn',
    cluster_name: name,
    cluster_uuid: uuid,
    version: {
      number: version,
      build_flavor: 'default',
      build_type: 'tar',
      build_hash: '0000000000000000000000000000000000000000',
      build_date: EPOCH_ISO,
      build_snapshot: false,
      lucene_version: '9.12.0',
      minimum_wire_compatibility_version: '7.17.0',
      minimum_index_compatibility_version: '7.0.0',
    },
    tagline: 'You Know, for Search',
  };
}

const LICENSE = {
  status: 'active',
  uid: '00000000-0000-0000-0000-000000000000',
  type: 'basic',
  issue_date: EPOCH_ISO,
  issue_date_in_millis: EPOCH_MS,
  max_nodes: 1000,
  max_resource_units: null,
  issued_to: 'cairn',
  issuer: 'elasticsearch',
  start_date_in_millis: -1,
};

export const licenseInfo = () => ({ license: LICENSE });

export const xpackInfo = () => ({
  build: { hash: '0000000000000000000000000000000000000000', date: EPOCH_ISO },
  license: { uid: LICENSE.uid, type: 'basic', mode: 'basic', status: 'active' },
  features: Object.fromEntries(['ilm', 'security', 'monitoring', 'data_streams'].map((f) => [f, { available: true, enabled: true }])),
  tagline: 'You know, for X',
});

export const clusterHealth = (name: string) => ({
  cluster_name: name,
  status: 'green',
  timed_out: false,
  number_of_nodes: 1,
  number_of_data_nodes: 1,
  active_primary_shards: 0,
  active_shards: 0,
  relocating_shards: 0,
  initializing_shards: 0,
  unassigned_shards: 0,
  delayed_unassigned_shards: 0,
  number_of_pending_tasks: 0,
  number_of_in_flight_fetch: 0,
  task_max_waiting_in_queue_millis: 0,
  active_shards_percent_as_number: 100,
});

export const acknowledged = () => ({ acknowledged: true });

export const indexTemplate = (name: string) => ({
  index_templates: [{ name, index_template: { index_patterns: [`${name}*`], composed_of: [], template: {} } }],
});

export const legacyTemplate = (name: string) => ({
  [name]: { order: 0, index_patterns: [`${name}*`], settings: {}, mappings: {}, aliases: {} },
});

export const ilmPolicy = (name: string) => ({
  [name]: { version: 1, modified_date: EPOCH_ISO, policy: { phases: { hot: { min_age: '0ms', actions: {} } } } },
});

export const ingestPipeline = (id: string) => ({ [id]: { description: 'accepted by Cairn; ingest pipelines are not run', processors: [] } });

export const dataStream = (name: string) => ({
  data_streams: [
    {
      name,
      timestamp_field: { name: '@timestamp' },
      indices: [],
      generation: 1,
      status: 'GREEN',
      template: name,
      hidden: false,
      system: false,
    },
  ],
});

export const indexInfo = (name: string) => ({
  [name]: {
    aliases: {},
    mappings: {},
    settings: { index: { number_of_shards: '1', number_of_replicas: '0', provided_name: name, creation_date: String(EPOCH_MS) } },
  },
});

export const indexCreated = (name: string) => ({ acknowledged: true, shards_acknowledged: true, index: name });
