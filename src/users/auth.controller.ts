import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Public } from '@lib/common';
import { AuditsRefusedInput } from '../audit/refused-input.interceptor';
import { AuthService } from './auth.service';
import { LoginDto, RefreshTokenDto, TokenPairDto } from './users.dto';

@ApiTags('auth')
@Public()
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** Exchange email and password for an access token and a refresh token. */
  @Post('login')
  @HttpCode(200)
  @ApiOkResponse({ type: TokenPairDto })
  @ApiUnauthorizedResponse({
    description: 'Unknown email, wrong password or disabled account (one answer for all).',
  })
  @ApiTooManyRequestsResponse({ description: 'Account locked after 5 failures in 15 min, or IP rate limit.' })
  @AuditsRefusedInput({ action: 'auth.login.failed', resourceType: 'user' })
  login(@Body() body: LoginDto): Promise<TokenPairDto> {
    return this.auth.login(body.email, body.password);
  }

  /** Rotate a refresh token: the old one stops working; reusing it revokes the whole session. */
  @Post('refresh')
  @HttpCode(200)
  @ApiOkResponse({ type: TokenPairDto })
  @ApiUnauthorizedResponse({ description: 'Unknown, expired, revoked or already rotated refresh token.' })
  @AuditsRefusedInput({ action: 'auth.refresh', resourceType: 'user' })
  refresh(@Body() body: RefreshTokenDto): Promise<TokenPairDto> {
    return this.auth.refresh(body.refreshToken);
  }

  /** End the session of this refresh token. */
  @Post('logout')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Logged out (also for unknown tokens).' })
  @AuditsRefusedInput({ action: 'auth.logout', resourceType: 'user' })
  logout(@Body() body: RefreshTokenDto): Promise<void> {
    return this.auth.logout(body.refreshToken);
  }
}
