import { DomainError } from '@lib/common';

export type UsersErrorCode =
  | 'AUTH.INVALID_CREDENTIALS'
  | 'AUTH.ACCOUNT_LOCKED'
  | 'AUTH.INVALID_REFRESH_TOKEN'
  | 'USERS.NOT_FOUND'
  | 'USERS.EMAIL_TAKEN'
  | 'USERS.LAST_ADMIN'
  | 'USERS.WRONG_PASSWORD'
  | 'API_KEYS.NOT_FOUND'
  | 'API_KEYS.LIMIT_REACHED';

/** Same error for unknown email, wrong password and a disabled account (no enumeration). */
export class InvalidCredentialsError extends DomainError<'AUTH.INVALID_CREDENTIALS'> {
  constructor() {
    super('AUTH.INVALID_CREDENTIALS', 'Invalid email or password.');
  }
}

export class AccountLockedError extends DomainError<'AUTH.ACCOUNT_LOCKED'> {
  constructor(retryAfterSeconds: number) {
    super('AUTH.ACCOUNT_LOCKED', 'Too many wrong passwords for this account; try again later.');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class InvalidRefreshTokenError extends DomainError<'AUTH.INVALID_REFRESH_TOKEN'> {
  constructor() {
    super('AUTH.INVALID_REFRESH_TOKEN', 'The refresh token is invalid, expired or revoked.');
  }
}

export class UserNotFoundError extends DomainError<'USERS.NOT_FOUND'> {
  constructor() {
    super('USERS.NOT_FOUND', 'No such user.');
  }
}

export class EmailTakenError extends DomainError<'USERS.EMAIL_TAKEN'> {
  constructor() {
    super('USERS.EMAIL_TAKEN', 'A user with this email already exists.');
  }
}

export class LastAdminError extends DomainError<'USERS.LAST_ADMIN'> {
  constructor() {
    super('USERS.LAST_ADMIN', 'This would leave no active admin.');
  }
}

export class WrongPasswordError extends DomainError<'USERS.WRONG_PASSWORD'> {
  constructor() {
    super('USERS.WRONG_PASSWORD', 'The current password is wrong.', [
      { field: 'currentPassword', message: 'currentPassword is wrong' },
    ]);
  }
}

export class ApiKeyNotFoundError extends DomainError<'API_KEYS.NOT_FOUND'> {
  constructor() {
    super('API_KEYS.NOT_FOUND', 'No such API key.');
  }
}

export class ApiKeyLimitError extends DomainError<'API_KEYS.LIMIT_REACHED'> {
  constructor(max: number) {
    super(
      'API_KEYS.LIMIT_REACHED',
      `At most ${max} API keys per user (API_KEYS_MAX_PER_USER); revoke one first.`,
    );
  }
}
