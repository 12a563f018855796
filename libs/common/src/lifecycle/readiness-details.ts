import { DiscoveryService } from '@nestjs/core';

/** A provider whose state readiness shows without ever failing on it (CONTRACT §7). */
export interface ReadinessDetailsSource {
  /** Extra data shown under the check's name; `status` is reserved by terminus. */
  readinessDetails(): Record<string, unknown>;
}

/**
 * Marks a `ReadinessDetailsSource` provider; the argument is the check name shown under
 * `/health/ready`. The health module finds marked providers by discovery, so neither it nor the
 * owning module imports the other, and deleting the owner leaves readiness untouched.
 */
export const ReadinessDetails = DiscoveryService.createDecorator<string>();
