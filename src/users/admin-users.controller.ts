import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AdminApi, uuidParam } from '@lib/common';
import { AuditsRefusedInput } from '../audit/refused-input.interceptor';
import { AdminUpdateUserDto, CreateUserDto, UserDto, UserListQueryDto, UserPageDto } from './users.dto';
import { UsersService } from './users.service';

@ApiTags('admin: users')
@AdminApi()
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly users: UsersService) {}

  /** Users, newest first; filter by email substring, role, disabled. */
  @Get()
  @ApiOkResponse({ type: UserPageDto })
  list(@Query() query: UserListQueryDto): Promise<UserPageDto> {
    return this.users.list(query);
  }

  /** Create a user (or an admin); the email must be new, whatever its case. */
  @Post()
  @ApiCreatedResponse({ type: UserDto })
  @ApiConflictResponse({ description: 'Email already taken (case-insensitive).' })
  @AuditsRefusedInput({ action: 'user.created', resourceType: 'user' })
  create(@Body() body: CreateUserDto): Promise<UserDto> {
    return this.users.create(body);
  }

  /** One user. */
  @Get(':id')
  @ApiOkResponse({ type: UserDto })
  @ApiNotFoundResponse({ description: 'No such user.' })
  get(@Param('id', uuidParam()) id: string): Promise<UserDto> {
    return this.users.get(id);
  }

  /** Change role, status or names. Disabling or changing the role ends the user's sessions. */
  @Patch(':id')
  @ApiOkResponse({ type: UserDto })
  @ApiConflictResponse({ description: 'Would leave no active admin.' })
  @AuditsRefusedInput({ action: 'user.updated', resourceType: 'user', resourceId: 'id' })
  update(@Param('id', uuidParam()) id: string, @Body() body: AdminUpdateUserDto): Promise<UserDto> {
    return this.users.updateProfile(id, body);
  }

  /** Delete a user; the last active admin cannot go. */
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiConflictResponse({ description: 'Would leave no active admin.' })
  @AuditsRefusedInput({ action: 'user.deleted', resourceType: 'user', resourceId: 'id' })
  remove(@Param('id', uuidParam()) id: string): Promise<void> {
    return this.users.remove(id);
  }
}
