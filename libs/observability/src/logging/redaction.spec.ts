import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS, REDACTED } from './redaction';

function capture(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ redact: { paths: REDACT_PATHS, censor: REDACTED } }, stream);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('log redaction', () => {
  it('blanks credentials in request headers', () => {
    const { logger, lines } = capture();
    logger.info({
      req: {
        headers: {
          authorization: 'Bearer abc',
          'proxy-authorization': 'Basic cHJveHk=',
          'x-api-key': 'k-123',
          cookie: 'sid=1',
          accept: 'x/y',
        },
      },
      res: { headers: { 'set-cookie': 'sid=2' } },
    });
    const [line] = lines();
    expect(line.req).toEqual({
      headers: {
        authorization: REDACTED,
        'proxy-authorization': REDACTED,
        'x-api-key': REDACTED,
        cookie: REDACTED,
        accept: 'x/y',
      },
    });
    expect(line.res).toEqual({ headers: { 'set-cookie': REDACTED } });
  });

  it('blanks secret fields at the top level and one or two levels down', () => {
    const { logger, lines } = capture();
    logger.info({
      password: 'p1',
      body: { newPassword: 'p2', currentPassword: 'p3', email: 'a@b.c' },
      user: { credentials: { refreshToken: 'r1', accessToken: 'a1' } },
      apiKey: 'k1',
      token: 't1',
    });
    const text = JSON.stringify(lines()[0]);
    for (const secret of ['p1', 'p2', 'p3', 'r1', 'a1', 'k1', 't1'])
      expect(text).not.toContain(`"${secret}"`);
    expect(text).toContain('a@b.c');
  });

  it("blanks a failed statement's parameters and the row PostgreSQL quotes, keeping what went wrong", () => {
    const { logger, lines } = capture();
    // The shape TypeORM's QueryFailedError has when pino's err serializer copies it.
    const hash = '$2b$10$abcdefghijklmnopqrstuv';
    const failure = Object.assign(new Error('null value in column "role" violates not-null constraint'), {
      query: 'UPDATE "users" SET "role" = $1 WHERE "id" = $2',
      parameters: [null, 'u1'],
      detail: `Failing row contains (u1, a@b.c, ${hash}, null).`,
      driverError: {
        code: '23502',
        detail: `Failing row contains (u1, a@b.c, ${hash}, null).`,
        parameters: [null],
      },
    });
    logger.error({ err: failure }, 'Request failed');
    const [line] = lines();
    expect(JSON.stringify(line)).not.toContain(hash);
    expect(line.err).toMatchObject({
      message: failure.message,
      query: failure.query,
      parameters: REDACTED,
      detail: REDACTED,
      driverError: { code: '23502', detail: REDACTED, parameters: REDACTED },
    });
  });
});
