import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { Principal } from '../auth/principal';

/** The security context of the current request, for audit rows and logs. */
export interface RequestContextData {
  requestId?: string;
  ip?: string;
  userAgent?: string;
  principal?: Principal;
}

const KEY = 'request';

/**
 * Request-scoped data without passing it through every call: the authentication guard fills it,
 * the audit service reads it. Outside a request (maintenance loops) it is empty.
 */
@Injectable()
export class RequestContext {
  constructor(private readonly cls: ClsService) {}

  get(): RequestContextData {
    return (this.cls.isActive() ? this.cls.get<RequestContextData>(KEY) : undefined) ?? {};
  }

  set(data: RequestContextData): void {
    if (this.cls.isActive()) this.cls.set(KEY, { ...this.get(), ...data });
  }
}
