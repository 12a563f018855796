import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { plainToInstance } from 'class-transformer';
import { targetConstructorToSchema } from 'class-validator-jsonschema';
import { type FieldError, validateAs } from '@lib/common';
import { type HandlesJob, JOB_HANDLER_METADATA, type JobHandlerOptions } from './job-handler';

export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_MAX_ATTEMPTS = 3;
const TYPE_NAME = /^[a-z][a-z0-9._-]{0,63}$/;

/** A discovered job type: its handler and its resolved defaults. */
export interface JobType {
  type: string;
  handler: HandlesJob;
  options: JobHandlerOptions;
  defaultTimeoutSeconds: number;
  defaultMaxAttempts: number;
  payloadSchema: Record<string, unknown>;
}

/** Finds every @JobHandler provider at start-up; the one place that knows which types exist. */
@Injectable()
export class JobHandlerRegistry implements OnModuleInit {
  private readonly byType = new Map<string, JobType>();
  private discovered = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    this.discover();
  }

  /**
   * Providers exist once the app is created, before init; the OpenAPI document is built in
   * between, so discovery also runs on first use.
   */
  private discover(): void {
    if (this.discovered) return;
    this.discovered = true;
    for (const wrapper of this.discovery.getProviders()) {
      if (!wrapper.metatype || !wrapper.instance) continue;
      const options = this.reflector.get<JobHandlerOptions | undefined>(
        JOB_HANDLER_METADATA,
        wrapper.metatype,
      );
      if (options) this.register(options, wrapper.instance as HandlesJob);
    }
  }

  get(type: string): JobType | undefined {
    this.discover();
    return this.byType.get(type);
  }

  all(): JobType[] {
    this.discover();
    return [...this.byType.values()].sort((a, b) => a.type.localeCompare(b.type));
  }

  types(): string[] {
    this.discover();
    return [...this.byType.keys()];
  }

  /** Field errors of `payload` against its type's DTO, named `payload.<field>`; empty when valid. */
  validatePayload(type: JobType, payload: unknown): FieldError[] {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      return [{ field: 'payload', message: 'payload must be a JSON object' }];
    }
    const instance = type.options.payload ? validateAs(type.options.payload, payload, 'payload') : payload;
    if (Array.isArray(instance)) return instance as FieldError[];
    return (type.handler.validate?.(instance) ?? []).map((error) => ({
      field: `payload.${error.field}`,
      message: error.message,
    }));
  }

  /** The payload as the handler receives it: an instance of its DTO when it declares one. */
  toHandlerPayload(type: JobType, payload: unknown): unknown {
    return type.options.payload ? plainToInstance(type.options.payload, payload) : payload;
  }

  private register(options: JobHandlerOptions, handler: HandlesJob): void {
    if (!TYPE_NAME.test(options.type)) {
      throw new Error(`Job type "${options.type}" must match ${TYPE_NAME.source}`);
    }
    if (this.byType.has(options.type)) throw new Error(`Job type "${options.type}" has two handlers`);
    this.byType.set(options.type, {
      type: options.type,
      handler,
      options,
      defaultTimeoutSeconds: options.defaultTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
      defaultMaxAttempts: options.defaultMaxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      // A payload class is validated like a body: unknown fields are refused, and the schema says so.
      payloadSchema: options.payload
        ? {
            ...(targetConstructorToSchema(options.payload) as Record<string, unknown>),
            additionalProperties: false,
          }
        : { type: 'object' },
    });
  }
}
