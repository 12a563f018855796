import { DomainError, STORE_RETRY_AFTER_SECONDS } from '@lib/common';

export type HealthErrorCode = 'STORE.MIGRATIONS_PENDING';

/** The store's schema is behind the code (MIGRATIONS_RUN=false and a migration not yet run). */
export class MigrationsPendingError extends DomainError<'STORE.MIGRATIONS_PENDING'> {
  constructor() {
    super(
      'STORE.MIGRATIONS_PENDING',
      'The service is waiting for its database migrations to be applied; retry later.',
    );
    this.retryAfterSeconds = STORE_RETRY_AFTER_SECONDS;
  }
}
