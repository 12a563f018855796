import { endOfStartup } from './heap-footprint';
import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { installGracefulShutdown } from '@lib/common';
import { ConfigValidationError, validateEnv } from '@lib/config';
import { startupLog } from '@lib/observability';
import { createApp } from './app.factory';
import { AdminBootstrap } from './users/admin-bootstrap';

async function bootstrap(): Promise<void> {
  const env = validateEnv(process.env);
  const app = await createApp();
  const logger = app.get(Logger);
  // Grace for draining jobs, plus slack for the rest of the shutdown.
  installGracefulShutdown(app, logger, (env.SHUTDOWN_GRACE_SECONDS + 10) * 1000);
  await app.listen(env.PORT, env.HOST);
  endOfStartup();
  // getUrl() names a wildcard address (0.0.0.0, ::) as 127.0.0.1, which a browser can open; the
  // bound address says who else can reach the port.
  logger.log(
    `jobs-service listening on ${await app.getUrl()} (bound to ${env.HOST}; Swagger UI at /docs)`,
    'Bootstrap',
  );
  await app.get(AdminBootstrap).whenServing();
}

bootstrap().catch((error: unknown) => {
  // One line, shaped like every other, naming every bad variable at once.
  if (error instanceof ConfigValidationError) startupLog.fatal({ problems: error.problems }, error.message);
  else startupLog.fatal({ err: error }, 'Start-up failed');
  process.exit(1);
});
