export * from './config.module';
export * from './config.namespaces';
export * from './env.schema';
export * from './validate-env';
export * from './duration';
