import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import {
  appConfig,
  auditConfig,
  authConfig,
  databaseConfig,
  jobsConfig,
  rateLimitConfig,
} from './config.namespaces';
import { validateEnv } from './validate-env';

/**
 * Validated, typed configuration. Inject a namespace with
 * `@Inject(appConfig.KEY) cfg: ConfigType<typeof appConfig>`.
 * Values come from the process environment only (12-factor); use `node --env-file=.env` locally.
 */
@Global()
@Module({
  imports: [
    ConfigModule.forRoot({
      ignoreEnvFile: true,
      validate: validateEnv,
      load: [appConfig, databaseConfig, rateLimitConfig, authConfig, jobsConfig, auditConfig],
    }),
  ],
  exports: [ConfigModule],
})
export class AppConfigModule {}
