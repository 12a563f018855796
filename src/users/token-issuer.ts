import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { isUUID } from 'class-validator';
import type { EntityManager } from 'typeorm';
import { authConfig, durationSeconds } from '@lib/config';
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
/** Access tokens remembered as verified; past it the memory starts over (a cache, not a store). */
const VERIFIED_MAX = 10_000;

/** Mints access JWTs (HS256) and opaque refresh tokens, storing only the latter's hash. */
@Injectable()
export class TokenIssuer {
  private readonly accessSeconds: number;
  private readonly refreshSeconds: number;
  /**
   * Tokens whose signature and shape were checked, by their exact text: a client sends the same
   * token on every request for its whole life, and verifying it again (jsonwebtoken's parsing
   * and HMAC) was a tenth of an authenticated read's CPU. Expiry is checked again on every hit.
   */
  private readonly verified = new Map<string, AccessClaims & { exp: number }>();

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

  /**
   * Verifies signature (HS256 only), expiry and shape; null for anything else. The shape is what
   * this issuer signs: a token it did not sign that way (no `exp`, so valid forever; a `sub` that
   * is not a user id, which the store would refuse with a 500) is not an access token.
   */
  async verifyAccess(token: string): Promise<AccessClaims | null> {
    const known = this.verified.get(token);
    if (known) {
      if (known.exp * 1000 > Date.now()) return known;
      this.verified.delete(token);
      return null;
    }
    try {
      const claims = await this.jwt.verifyAsync<Partial<AccessClaims> & { exp?: number }>(token, {
        algorithms: ['HS256'],
      });
      if (!isAccessClaims(claims)) return null;
      if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
      this.verified.set(token, claims);
      return claims;
    } catch {
      return null;
    }
  }
}

function isAccessClaims(
  claims: Partial<AccessClaims> & { exp?: number },
): claims is AccessClaims & { exp: number } {
  return (
    typeof claims.sub === 'string' &&
    isUUID(claims.sub) &&
    typeof claims.role === 'string' &&
    typeof claims.jti === 'string' &&
    Number.isInteger(claims.ver) &&
    typeof claims.exp === 'number'
  );
}
