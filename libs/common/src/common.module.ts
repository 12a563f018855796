import { Global, Module } from '@nestjs/common';
import { ShutdownState } from './lifecycle/shutdown-state';

/** Process-wide plumbing every module may inject. */
@Global()
@Module({ providers: [ShutdownState], exports: [ShutdownState] })
export class CommonModule {}
