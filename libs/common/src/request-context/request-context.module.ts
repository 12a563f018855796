import { Global, Module } from '@nestjs/common';
import { ClsModule } from 'nestjs-cls';
import { RequestContext } from './request-context';

/** Opens an async-local scope per HTTP request (nestjs-cls middleware) and exposes RequestContext. */
@Global()
@Module({
  imports: [ClsModule.forRoot({ global: true, middleware: { mount: true } })],
  providers: [RequestContext],
  exports: [RequestContext],
})
export class RequestContextModule {}
