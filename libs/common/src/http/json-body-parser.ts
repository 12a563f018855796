import { isUtf8 } from 'node:buffer';
import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { RequestValidationError } from '../errors/domain-error';

/**
 * Fastify's own JSON parser (prototype-poisoning checks on), with four changes:
 * - a body with a Content-Encoding (gzip, say) is a 415: the bytes are not the JSON they stand
 *   for, and read as such a compressed body got a misleading "not valid JSON";
 * - a body that is not UTF-8 is refused (RFC 8259 §8.1): decoded as text, its bad bytes became
 *   U+FFFD and were stored as if the client had sent them;
 * - an empty body is no body: many clients send `Content-Type: application/json` on every POST,
 *   also on the actions that take none (cancel, retry, pause), which Fastify refused with a 400;
 *   a route that needs a body still gets its 400 from validation;
 * - a body refused for a `__proto__` key (or `constructor.prototype`) says so, instead of calling
 *   valid JSON invalid.
 */
export function useJsonBodyParser(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      done(
        new UnsupportedMediaTypeException('Content-Encoding is not supported; send the body uncompressed.'),
        undefined,
      );
      return;
    }
    const bytes = raw as Buffer; // parseAs: 'buffer'
    if (bytes.length === 0) {
      done(null, undefined);
      return;
    }
    if (!isUtf8(bytes)) {
      done(
        new RequestValidationError([{ field: '(body)', message: 'the body is not valid UTF-8' }]),
        undefined,
      );
      return;
    }
    const body = bytes.toString('utf8');
    void parseJson(request, body, (error, value) => {
      if (error && isJson(body)) {
        const reserved = {
          field: '(body)',
          message: '__proto__ and constructor.prototype are reserved and cannot be keys',
        };
        done(new RequestValidationError([reserved]), undefined);
        return;
      }
      done(error, value);
    });
  });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
