import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import * as bcrypt from 'bcrypt';
import { authConfig } from '@lib/config';

/** bcrypt at BCRYPT_ROUNDS, with a dummy hash so an unknown email costs as much as a wrong password. */
@Injectable()
export class PasswordHasher {
  private readonly dummy: string;

  constructor(@Inject(authConfig.KEY) private readonly cfg: ConfigType<typeof authConfig>) {
    this.dummy = bcrypt.hashSync('dummy password for equal work', cfg.bcryptRounds);
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.cfg.bcryptRounds);
  }

  /** Compares against `hash`, or against the dummy when there is no user, and says no. */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const ok = await bcrypt.compare(password, hash ?? this.dummy);
    return ok && hash !== undefined;
  }
}
