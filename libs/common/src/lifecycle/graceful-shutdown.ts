import type { INestApplication, LoggerService } from '@nestjs/common';
import { ShutdownState } from './shutdown-state';

/**
 * SIGTERM/SIGINT: readiness turns 503 at once (before any drain starts), then the app closes
 * (in-flight requests finish, hooks drain workers, connections close) and the process exits 0.
 * Nest's own shutdown hooks would run the drain before anything could mark readiness, and
 * re-raise the signal instead of exiting 0, hence this small replacement.
 *
 * `hardLimitMs` caps the whole sequence so a stuck hook cannot keep a pod terminating forever.
 */
export function installGracefulShutdown(
  app: INestApplication,
  logger: LoggerService,
  hardLimitMs: number,
): void {
  const state = app.get(ShutdownState);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (state.isShuttingDown) return;
    state.begin();
    logger.log(`${signal} received: shutting down`, 'Shutdown');
    const timer = setTimeout(() => {
      logger.error(`Shutdown took longer than ${hardLimitMs} ms; exiting`, undefined, 'Shutdown');
      process.exit(1);
    }, hardLimitMs);
    timer.unref();
    app.close().then(
      () => {
        logger.log('Shutdown complete', 'Shutdown');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('Shutdown failed', error instanceof Error ? error.stack : String(error), 'Shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
