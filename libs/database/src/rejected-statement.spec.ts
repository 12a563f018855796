import { isRejectedStatement } from './rejected-statement';

const pgError = (code: string) => Object.assign(new Error('refused'), { code });

describe('isRejectedStatement', () => {
  it('is true for data, integrity, syntax and limit errors, also wrapped as TypeORM does', () => {
    for (const code of ['22P05', '22021', '23505', '42P01', '54001']) {
      expect(isRejectedStatement(pgError(code))).toBe(true);
    }
    const wrapped = Object.assign(new Error('QueryFailedError'), { driverError: pgError('22P05') });
    expect(isRejectedStatement(wrapped)).toBe(true);
  });

  it('is false for what may pass next time: connection loss, deadlocks, shutdowns, timeouts', () => {
    for (const code of ['08006', '40001', '40P01', '57P01', '57014', '53300', 'ECONNREFUSED']) {
      expect(isRejectedStatement(pgError(code))).toBe(false);
    }
    expect(isRejectedStatement(new Error('Connection terminated'))).toBe(false);
    expect(isRejectedStatement('22P05')).toBe(false);
    // A session the server refused at connect, whatever its code: not this statement's fault.
    expect(isRejectedStatement(Object.assign(pgError('42501'), { severity: 'FATAL' }))).toBe(false);
  });
});
