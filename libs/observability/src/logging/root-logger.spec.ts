import { Writable } from 'node:stream';
import pino from 'pino';
import { RequestContext } from '@lib/common';
import { rootLoggerOptions } from './root-logger';

function capture(level = 'info'): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    logger: pino(rootLoggerOptions(level), stream),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('the root logger', () => {
  it('adds the request id of the current request to every line, and none outside one', () => {
    const { logger, lines } = capture();
    new RequestContext().run(() => logger.child({ context: 'Test' }).info('inside'), { requestId: 'req-42' });
    logger.info('outside');
    expect(lines()).toEqual([
      expect.objectContaining({ msg: 'inside', context: 'Test', reqId: 'req-42' }),
      expect.not.objectContaining({ reqId: expect.anything() as unknown }),
    ]);
  });

  it('redacts secrets wherever a line carries them', () => {
    const { logger, lines } = capture();
    logger.info({ req: { headers: { authorization: 'Bearer abc', 'x-api-key': 'k' } } }, 'request');
    expect(JSON.stringify(lines())).not.toMatch(/Bearer abc|"k"/);
  });

  it('writes nothing below its level', () => {
    const { logger, lines } = capture('warn');
    logger.info('quiet');
    expect(lines()).toEqual([]);
  });
});
