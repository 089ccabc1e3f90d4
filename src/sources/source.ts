/**
 * Sources: one folder per protocol. A source turns what its senders speak
 * into LogRecords and hands them to the Ingestor; HTTP-based sources add
 * routes to the shared server, socket-based ones open their own listeners.
 */
import type { FastifyInstance } from 'fastify';
import type { CairnConfig } from '../config/schema.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Logger } from '../util/logger.ts';
import type { Authenticator } from '../api/auth.ts';
import { Registry } from '../registry.ts';
import type { Ingestor } from './ingestor.ts';

export interface SourceContext {
  config: CairnConfig;
  http: FastifyInstance;
  ingestor: Ingestor;
  auth: Authenticator;
  metrics: Metrics;
  logger: Logger;
}

export interface Source {
  readonly name: string;
  /** Opens listeners (routes are added when the source is created). */
  start(): Promise<void>;
  /** Stops taking new input; in-flight input is finished or refused, never acknowledged unstored. */
  stop(): Promise<void>;
}

export type SourceFactory = (ctx: SourceContext) => Source;
export const sources = new Registry<SourceFactory>('source');
