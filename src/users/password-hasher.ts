import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import * as bcrypt from 'bcrypt';
import { authConfig } from '@lib/config';
import { PASSWORD_MAX_BYTES } from './password.rules';

/** bcrypt at BCRYPT_ROUNDS, with a dummy hash so an unknown email costs as much as a wrong password. */
@Injectable()
export class PasswordHasher {
  /**
   * Made on libuv's threads while the service starts: hashSync held the start's one thread for
   * the whole hash (~60 ms at 10 rounds, four times that at the default 12).
   */
  private readonly dummy: Promise<string>;

  constructor(@Inject(authConfig.KEY) private readonly cfg: ConfigType<typeof authConfig>) {
    this.dummy = bcrypt.hash('dummy password for equal work', cfg.bcryptRounds);
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.cfg.bcryptRounds);
  }

  /**
   * Compares against `hash`, or against the dummy when there is no user, and says no. A password
   * over 72 bytes is never right: none can be set (bcrypt would check only its first 72 bytes,
   * so any suffix would pass); it still costs one comparison, like every other wrong password.
   */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const tooLong = Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES;
    const ok = await bcrypt.compare(tooLong ? '' : password, hash ?? (await this.dummy));
    return ok && hash !== undefined && !tooLong;
  }
}
