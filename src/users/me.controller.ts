import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import {
  AuthenticatedApi,
  CurrentPrincipal,
  PageQueryDto,
  type Principal,
  SignedInOnly,
  uuidParam,
} from '@lib/common';
import { AuditsRefusedInput } from '../audit/refused-input.interceptor';
import { ApiKeysService } from './api-keys.service';
import {
  ApiKeyPageDto,
  ChangePasswordDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  UpdateMeDto,
  UserDto,
} from './users.dto';
import { UsersService } from './users.service';

@ApiTags('me')
@AuthenticatedApi()
@Controller('users/me')
export class MeController {
  constructor(
    private readonly users: UsersService,
    private readonly apiKeys: ApiKeysService,
  ) {}

  /** Your own account. */
  @Get()
  @ApiOkResponse({ type: UserDto })
  get(@CurrentPrincipal() me: Principal): Promise<UserDto> {
    return this.users.own(me.userId);
  }

  /** Change your names or phone (role, email and status are not yours to change). */
  @Patch()
  @ApiOkResponse({ type: UserDto })
  @AuditsRefusedInput({ action: 'user.updated', resourceType: 'user', resourceId: 'caller' })
  update(@CurrentPrincipal() me: Principal, @Body() body: UpdateMeDto): Promise<UserDto> {
    return this.users.updateProfile(me.userId, body);
  }

  /**
   * Change your password; all your sessions end. Wrong current passwords count towards the
   * account's login lockout (429 after five in 15 minutes).
   */
  @Post('password')
  @HttpCode(204)
  @SignedInOnly()
  @ApiNoContentResponse({ description: 'Password changed.' })
  @ApiForbiddenResponse({ description: 'Called with an API key: this needs your bearer token.' })
  @ApiTooManyRequestsResponse({ description: 'Too many wrong passwords for this account; see Retry-After.' })
  @AuditsRefusedInput({ action: 'user.password_changed', resourceType: 'user', resourceId: 'caller' })
  changePassword(@CurrentPrincipal() me: Principal, @Body() body: ChangePasswordDto): Promise<void> {
    return this.users.changePassword(me.userId, body.currentPassword, body.newPassword);
  }

  /** Create an API key; the key is shown in this response only. */
  @Post('api-keys')
  @SignedInOnly()
  @ApiForbiddenResponse({ description: 'Called with an API key: keys are made with your bearer token.' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiConflictResponse({ description: 'You already hold API_KEYS_MAX_PER_USER unrevoked keys.' })
  @AuditsRefusedInput({ action: 'api_key.created', resourceType: 'api_key' })
  createApiKey(@CurrentPrincipal() me: Principal, @Body() body: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.apiKeys.create(me.userId, body);
  }

  /** Your active API keys (prefixes only), newest first. */
  @Get('api-keys')
  @ApiOkResponse({ type: ApiKeyPageDto })
  listApiKeys(@CurrentPrincipal() me: Principal, @Query() query: PageQueryDto): Promise<ApiKeyPageDto> {
    return this.apiKeys.list(me.userId, query);
  }

  /** Revoke one of your API keys. */
  @Delete('api-keys/:id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked.' })
  @ApiNotFoundResponse({ description: 'No such key of yours.' })
  @AuditsRefusedInput({ action: 'api_key.revoked', resourceType: 'api_key', resourceId: 'id' })
  revokeApiKey(@CurrentPrincipal() me: Principal, @Param('id', uuidParam()) id: string): Promise<void> {
    return this.apiKeys.revoke(me.userId, id);
  }
}
