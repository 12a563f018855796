import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal';

/** The security context of the current request, for audit rows and logs. */
export interface RequestContextData {
  requestId?: string;
  ip?: string;
  userAgent?: string;
  principal?: Principal;
}

/**
 * Request-scoped data without passing it through every call: the request-scope hooks open it
 * with the request id, the authentication guard adds the caller, the audit service and the logger
 * read it. Outside a request (maintenance loops) it is empty. One process-wide store, so that the
 * logger, which lives outside the Nest container, reads the same one.
 */
@Injectable()
export class RequestContext {
  private static readonly storage = new AsyncLocalStorage<RequestContextData>();

  /** The current request's data, or undefined outside a request; never copies. */
  static current(): RequestContextData | undefined {
    return RequestContext.storage.getStore();
  }

  get(): RequestContextData {
    return RequestContext.storage.getStore() ?? {};
  }

  set(data: RequestContextData): void {
    const store = RequestContext.storage.getStore();
    if (store) Object.assign(store, data);
  }

  /**
   * Runs `fn` in a request scope whose store is `data` itself (not a copy): running again with
   * the same object resumes that scope, as the HTTP hooks do after body parsing.
   */
  run<T>(fn: () => T, data: RequestContextData = {}): T {
    return RequestContext.storage.run(data, fn);
  }
}
