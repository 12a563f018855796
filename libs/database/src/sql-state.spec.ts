import { isUniqueViolation, sqlState } from './sql-state';

const pgError = (code: string) => Object.assign(new Error('refused'), { code });

describe('sqlState', () => {
  it('reads the driver error, also wrapped as TypeORM wraps it', () => {
    expect(sqlState(pgError('23505'))).toBe('23505');
    expect(sqlState(Object.assign(new Error('QueryFailedError'), { driverError: pgError('40P01') }))).toBe(
      '40P01',
    );
  });

  it('has none for what is not a PostgreSQL error', () => {
    expect(sqlState(pgError('ECONNREFUSED'))).toBeUndefined();
    expect(sqlState(new Error('Connection terminated'))).toBeUndefined();
    expect(sqlState('23505')).toBeUndefined();
  });

  it('tells a unique violation', () => {
    expect(
      isUniqueViolation(Object.assign(new Error('QueryFailedError'), { driverError: pgError('23505') })),
    ).toBe(true);
    expect(isUniqueViolation(pgError('23503'))).toBe(false);
  });
});
