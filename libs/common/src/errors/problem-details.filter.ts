import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE } from './problem';
import { toProblem } from './to-problem';

/**
 * The one exception filter: every error leaves as RFC 9457 problem+json. `statusByCode` is the
 * app's exhaustive code → status table, so libs/ stays free of domain knowledge.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly statusByCode: Readonly<Record<string, number>>) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { problem, headers } = toProblem(
      exception,
      { instance: request.url.split('?')[0], requestId: String(request.id) },
      this.statusByCode,
    );
    if (problem.status >= 500) {
      this.logger.error(
        { err: exception, requestId: problem.requestId, code: problem.code },
        'Request failed',
      );
    }
    if (reply.sent) return;
    void reply.status(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(problem);
  }
}
