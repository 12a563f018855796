export * from './data-source.options';
export * from './database.module';
export * from './embedded-postgres';
export * from './migrate';
export * from './migration-status.service';
export * from './store-unavailable';
export * from './keyset';
export * from './rejected-statement';
