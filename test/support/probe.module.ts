import { Body, Controller, Get, Module, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min, ValidateNested } from 'class-validator';
import { DataSource } from 'typeorm';
import { Public } from '@lib/common';

class NestedDto {
  @IsInt()
  x!: number;
}

export class ProbeDto {
  @IsString()
  @Length(1, 20)
  name!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  count?: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => NestedDto)
  nested?: NestedDto;
}

/**
 * Routes that exist only in tests, to exercise the HTTP plumbing (validation, errors, store
 * failures, slow requests) independently of auth. Mounted under /v1 like real routes.
 */
@Public()
@Controller('probe')
class ProbeController {
  constructor(private readonly dataSource: DataSource) {}

  @Post('echo')
  echo(@Body() body: ProbeDto): ProbeDto {
    return body;
  }

  @Get('items/:id')
  item(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Get('boom')
  boom(): never {
    throw new Error('SELECT password FROM users -- internal detail that must not leak');
  }

  @Get('store')
  async store(): Promise<{ ok: boolean }> {
    await this.dataSource.query('SELECT 1');
    return { ok: true };
  }

  @Get('slow')
  async slow(@Query('ms', ParseIntPipe) ms: number): Promise<{ waited: number }> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { waited: ms };
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
