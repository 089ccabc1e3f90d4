import type { Logger } from '../util/logger.ts';

/**
 * Runs until SIGINT or SIGTERM, then awaits `close` (stop accepting, flush,
 * close stores) and resolves. A second signal while closing exits at once.
 * Shared by `cairn server` and `cairn agent`.
 */
export function untilSignal(logger: Logger, close: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn('second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      close().then(resolve, (err) => {
        logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    // `on`, not `once`: a second signal must reach stop() to force the exit.
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
