import { Injectable } from '@nestjs/common';

/** Set once a termination signal arrives; readiness and the job workers watch it. */
@Injectable()
export class ShutdownState {
  private since?: Date;

  begin(): void {
    this.since ??= new Date();
  }

  get isShuttingDown(): boolean {
    return this.since !== undefined;
  }
}
