import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import type { EntityManager } from 'typeorm';
import { durationSeconds } from '@lib/common';
import { authConfig } from '@lib/config';
import { RefreshToken } from './refresh-token.entity';
import { newToken, sha256 } from './secrets';
import type { User } from './user.entity';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/** Claims of our access tokens (CONTRACT §4), plus `ver`, the user's session version. */
export interface AccessClaims {
  sub: string;
  role: string;
  jti: string;
  ver: number;
}

export const REFRESH_TOKEN_PREFIX = 'jsr_';

/** Mints access JWTs (HS256) and opaque refresh tokens, storing only the latter's hash. */
@Injectable()
export class TokenIssuer {
  private readonly accessSeconds: number;
  private readonly refreshSeconds: number;

  constructor(
    private readonly jwt: JwtService,
    @Inject(authConfig.KEY) cfg: ConfigType<typeof authConfig>,
  ) {
    this.accessSeconds = durationSeconds(cfg.accessTtl);
    this.refreshSeconds = durationSeconds(cfg.refreshTtl);
  }

  /** A new pair; `familyId` continues a rotation family, else a login starts a new one. */
  async issue(em: EntityManager, user: User, familyId: string = randomUUID()): Promise<TokenPair> {
    const claims: AccessClaims = {
      sub: user.id,
      role: user.role,
      jti: randomUUID(),
      ver: user.sessionVersion,
    };
    const accessToken = await this.jwt.signAsync(claims, { expiresIn: this.accessSeconds });
    const refreshToken = newToken(REFRESH_TOKEN_PREFIX);
    await em.insert(RefreshToken, {
      userId: user.id,
      familyId,
      tokenHash: sha256(refreshToken),
      expiresAt: new Date(Date.now() + this.refreshSeconds * 1000),
    });
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.accessSeconds };
  }

  /** Verifies signature (HS256 only), expiry and shape; null for anything else. */
  async verifyAccess(token: string): Promise<AccessClaims | null> {
    try {
      const claims = await this.jwt.verifyAsync<Partial<AccessClaims>>(token, { algorithms: ['HS256'] });
      if (typeof claims.sub !== 'string' || typeof claims.ver !== 'number') return null;
      return claims as AccessClaims;
    } catch {
      return null;
    }
  }
}
