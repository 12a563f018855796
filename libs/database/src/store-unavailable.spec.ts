import { isStoreUnavailable } from './store-unavailable';

const pgError = (code: string, severity = 'ERROR') => Object.assign(new Error('refused'), { code, severity });

describe('isStoreUnavailable', () => {
  it('is true when the store cannot be reached, is shutting down, or is out of resources', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', '08006', '08001', '57P01', '57P03', '53300', '53100']) {
      expect(isStoreUnavailable(pgError(code))).toBe(true);
    }
    expect(isStoreUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('is true for any session the server refuses (severity FATAL), whatever its code', () => {
    // A database closed to connections, a password the server refuses, a database that is gone.
    for (const code of ['55000', '28P01', '3D000', '42501']) {
      expect(isStoreUnavailable(pgError(code, 'FATAL'))).toBe(true);
    }
  });

  it('looks through the wrapping TypeORM adds', () => {
    const wrapped = Object.assign(new Error('QueryFailedError'), { driverError: pgError('55000', 'FATAL') });
    expect(isStoreUnavailable(wrapped)).toBe(true);
  });

  it('is false for a statement the store refused or could not finish: that is the request or a bug', () => {
    for (const code of ['22P05', '23505', '42P01', '40P01', '57014', '55000']) {
      expect(isStoreUnavailable(pgError(code))).toBe(false);
    }
    expect(isStoreUnavailable('ECONNREFUSED')).toBe(false);
  });
});
