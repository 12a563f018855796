import { IsBoolean, IsEmail, IsIn, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import {
  IsDateOrTimestamp,
  OptionalNotNull,
  PageQueryDto,
  QueryBoolean,
  ROLES,
  type Role,
} from '@lib/common';
import { IsNewPassword } from './password.rules';

export class LoginDto {
  @IsEmail({ require_tld: false }) // admin@localhost is the development admin (CONTRACT §4)
  @MaxLength(254)
  email!: string;

  @IsString()
  @MaxLength(1024)
  password!: string;
}

export class RefreshTokenDto {
  @IsString()
  @MaxLength(512)
  refreshToken!: string;
}

export class TokenPairDto {
  accessToken!: string;
  refreshToken!: string;
  /** Always `Bearer`. */
  tokenType!: 'Bearer';
  /** Access-token lifetime in seconds. */
  expiresIn!: number;
}

export class UserDto {
  id!: string;
  email!: string;
  role!: Role;
  firstName!: string | null;
  lastName!: string | null;
  phone!: string | null;
  disabled!: boolean;
  createdAt!: string;
  updatedAt!: string;
}

export class UserPageDto {
  items!: UserDto[];
  nextCursor!: string | null;
}

/** The optional name fields shared by the user-writing DTOs; null clears one. */
class NameFieldsDto {
  @IsOptional()
  @IsString()
  @MaxLength(100)
  firstName?: string | null;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  lastName?: string | null;
}

export class UpdateMeDto extends NameFieldsDto {
  /** 10-15 characters of digits, spaces, + and -; null clears it. */
  @IsOptional()
  @Matches(/^[0-9 +-]{10,15}$/, { message: 'phone must be 10-15 characters of digits, spaces, + and -' })
  phone?: string | null;
}

export class ChangePasswordDto {
  @IsString()
  @MaxLength(1024)
  currentPassword!: string;

  /** At least 12 characters, at most 72 bytes. */
  @IsNewPassword()
  newPassword!: string;
}

export class CreateUserDto extends NameFieldsDto {
  @IsEmail({ require_tld: false }) // admin@localhost is the development admin (CONTRACT §4)
  @MaxLength(254)
  email!: string;

  /** At least 12 characters, at most 72 bytes. */
  @IsNewPassword()
  password!: string;

  @IsIn(ROLES)
  role!: Role;
}

export class AdminUpdateUserDto extends NameFieldsDto {
  @OptionalNotNull()
  @IsIn(ROLES)
  role?: Role;

  @OptionalNotNull()
  @IsBoolean()
  disabled?: boolean;
}

export class UserListQueryDto extends PageQueryDto {
  /** Case-insensitive substring of the email. */
  @IsOptional()
  @IsString()
  @MaxLength(254)
  email?: string;

  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @IsOptional()
  @QueryBoolean()
  @IsBoolean()
  disabled?: boolean;
}

export class CreateApiKeyDto {
  @IsString()
  @Length(1, 100)
  name!: string;

  /** Optional expiry, in the future: a timestamp with its UTC offset, or a date (midnight UTC). */
  @IsOptional()
  @IsDateOrTimestamp()
  expiresAt?: string;
}

export class ApiKeyDto {
  id!: string;
  name!: string;
  /** The first characters of the key, to recognise it. */
  prefix!: string;
  createdAt!: string;
  expiresAt!: string | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  /** The key itself, shown only in this response. Send it as `X-API-Key`. */
  key!: string;
}

export class ApiKeyPageDto {
  items!: ApiKeyDto[];
  nextCursor!: string | null;
}
