import { setTimeout as sleep } from 'node:timers/promises';
import type { Random } from './random';
import type { Replica } from './replica';

/** In the order trials take them, so that any run of four trials (and --smoke's three) covers them. */
export const FAULT_KINDS = ['store-cut', 'freeze', 'sigkill', 'sigterm'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  kind: FaultKind;
  replica: Replica;
  /** How long the fault lasts: down time before a restart, cut length, or frozen time. */
  ms: number;
}

/**
 * The fault of trial `trial` (from 1): its kind in turn, its replica and length drawn. Store cuts range from under a heartbeat to past the lease; a freeze always
 * outlasts the lease, so another replica takes the job over and the thawed one's writes are
 * stale. Kills and stops are followed by a restart after `ms`. `short` (--smoke) trims the ranges.
 */
export function drawFault(
  trial: number,
  random: Random,
  replicas: Replica[],
  leaseSeconds: number,
  short = false,
): Fault {
  const kind = FAULT_KINDS[(trial - 1) % FAULT_KINDS.length];
  const replica = random.pick(replicas);
  const lease = leaseSeconds * 1000;
  const ms =
    kind === 'store-cut'
      ? random.int(500, lease + (short ? 0 : 2000))
      : kind === 'freeze'
        ? random.int(lease + 500, lease + (short ? 1000 : 3000))
        : random.int(200, short ? 1000 : 2000);
  return { kind, replica, ms };
}

/** Applies the fault for its whole course and undoes it (restart, restore, SIGCONT). */
export async function inject(fault: Fault): Promise<string> {
  const { replica, ms } = fault;
  switch (fault.kind) {
    case 'sigkill':
    case 'sigterm': {
      const exit = await replica.stop(fault.kind === 'sigkill' ? 'SIGKILL' : 'SIGTERM');
      await sleep(ms);
      await replica.restart();
      return `exit ${exit.code ?? exit.signal}`;
    }
    case 'store-cut':
      replica.proxy.cut();
      await sleep(ms);
      replica.proxy.restore();
      return replica.up ? 'alive' : 'DIED';
    case 'freeze':
      replica.freeze();
      await sleep(ms);
      replica.thaw();
      return replica.up ? 'alive' : 'DIED';
  }
}
