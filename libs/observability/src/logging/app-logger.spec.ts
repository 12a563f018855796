import { Writable } from 'node:stream';
import { RequestContext } from '@lib/common';
import { AppLogger, createRootLogger } from './app-logger';

function capture(level = 'info'): { logger: AppLogger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = new AppLogger(createRootLogger(level, stream));
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('AppLogger', () => {
  it('adds the request id of the current request to every line, and none outside one', () => {
    const { logger, lines } = capture();
    new RequestContext().run(() => logger.log('inside', 'Test'), { requestId: 'req-42' });
    logger.log('outside', 'Test');
    expect(lines()).toEqual([
      expect.objectContaining({ msg: 'inside', context: 'Test', reqId: 'req-42' }),
      expect.not.objectContaining({ reqId: expect.anything() as unknown }),
    ]);
  });

  it("keeps Nest's call shapes: context last, objects merged, errors and stacks as err", () => {
    const { logger, lines } = capture();
    logger.error({ code: 'X', requestId: 'r' }, 'Request failed', 'Errors');
    logger.error('Boom', 'Error: Boom\n    at somewhere (file.js:1:1)', 'ExceptionsHandler');
    logger.warn(new Error('plain'), 'Ctx');
    const [merged, stack, error] = lines();
    expect(merged).toMatchObject({ level: 50, msg: 'Request failed', context: 'Errors', code: 'X' });
    expect(stack).toMatchObject({ context: 'ExceptionsHandler', err: { message: 'Boom' } });
    expect((stack.err as { stack: string }).stack).toContain('at somewhere');
    expect(error).toMatchObject({ level: 40, context: 'Ctx', err: { message: 'plain' } });
  });

  it('writes nothing below its level', () => {
    const { logger, lines } = capture('warn');
    logger.log('quiet', 'Test');
    logger.debug('quiet', 'Test');
    expect(lines()).toEqual([]);
  });
});
