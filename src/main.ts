import { endOfStartup } from './heap-footprint';
import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { installGracefulShutdown } from '@lib/common';
import { ConfigValidationError, validateEnv } from '@lib/config';
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
  // One JSON line, like every other log line, naming every bad variable at once.
  const line =
    error instanceof ConfigValidationError
      ? { level: 'fatal', msg: error.message, problems: error.problems }
      : { level: 'fatal', msg: 'Start-up failed', err: error instanceof Error ? error.stack : String(error) };
  process.stderr.write(`${JSON.stringify({ time: Date.now(), ...line })}\n`);
  process.exit(1);
});
