import 'reflect-metadata';
import type { Type } from '@nestjs/common';
import fc from 'fast-check';
import { classValidate, fastValidator, findUnstorableValue } from '@lib/common';
import { HttpPayload } from './handlers/http-payload';
import { SleepPayload } from './handlers/sleep.handler';
import { BatchCreateJobsDto, CreateJobDto } from './jobs.dto';

// Every class the fast path sees for jobs: the bodies (validation pipe), batch items and the
// payload DTOs of the built-in job types (validateAs).
const anything = fc.oneof(
  fc.string({ maxLength: 8, unit: 'binary' }),
  fc.constantFrom(
    '',
    'noop',
    '2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00',
    'GET',
    '2xx',
    '\ufe0f'.repeat(70),
  ),
  fc.integer({ min: -3, max: 4_000_000 }),
  fc.constantFrom(0, 1, 10, 11, 25, 26, 3600, 3601, 0.001, 0.0005, 86_400, 604_801, 1e21, -0, 1.5),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);
// Each field mostly near its rules, so that many items pass and the boundaries get probed.
const near = (likely: fc.Arbitrary<unknown>) => fc.oneof({ arbitrary: likely, weight: 12 }, anything);
const text = (max: number) => fc.string({ maxLength: max + 2, unit: 'grapheme' });
const instant = fc
  .date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true })
  .chain((d) =>
    fc.constantFrom(d.toISOString(), d.toISOString().replace('Z', '+02:00'), d.toISOString().slice(0, 19)),
  );

const jobItem = fc
  .record(
    {
      type: near(text(64)),
      name: near(text(200)),
      // Required: an object far more often than the other fields are valid, so that enough items pass.
      payload: fc.oneof({ arbitrary: fc.object({ maxDepth: 2 }), weight: 36 }, anything),
      priority: near(fc.integer({ min: 0, max: 11 })),
      runAt: near(instant),
      delaySeconds: near(fc.integer({ min: -1, max: 31_536_001 })),
      maxAttempts: near(fc.integer({ min: 0, max: 26 })),
      timeoutSeconds: near(fc.integer({ min: 0, max: 3601 })),
      backoff: near(
        fc.record(
          {
            baseSeconds: near(fc.double({ min: 0, max: 90_000, noNaN: true })),
            maxSeconds: near(fc.double({ min: 0, max: 700_000, noNaN: true })),
            extra: anything,
          },
          { requiredKeys: [] },
        ),
      ),
      idempotencyKey: near(
        fc.oneof(
          fc.stringMatching(/^[\x21-\x7e]{0,201}$/),
          fc.string({ maxLength: 202, unit: 'binary-ascii' }),
        ),
      ),
      unknown: anything,
    },
    { requiredKeys: ['payload'] },
  )
  // payload is required (CONTRACT §5): missing from a few items only, so that many still pass.
  .chain(({ unknown, payload, ...rest }) => {
    const item = { ...rest, payload };
    return fc.oneof(
      { arbitrary: fc.constant({ ...item, unknown }), weight: 4 },
      { arbitrary: fc.constant(item), weight: 15 },
      { arbitrary: fc.constant(rest), weight: 1 },
    );
  });
const sleepPayload = fc.record(
  { ms: near(fc.integer({ min: -1, max: 3_600_001 })), steps: near(fc.integer({ min: 0, max: 1001 })) },
  { requiredKeys: [] },
);
const httpPayload = fc.record(
  {
    url: near(fc.webUrl()),
    method: near(fc.constantFrom('GET', 'POST', 'get', 'TRACE')),
    timeoutMs: near(fc.integer({ min: 0, max: 300_001 })),
    expectStatus: near(fc.constantFrom(200, '2xx')),
    headers: anything,
    body: anything,
  },
  { requiredKeys: [] },
);

const batch = fc
  .record(
    { jobs: near(fc.array(fc.oneof(jobItem, anything), { maxLength: 3 })), unknown: anything },
    { requiredKeys: [] },
  )
  .chain(({ unknown, ...body }) => fc.constantFrom({ ...body, unknown }, body, body, body, body));

describe.each<[string, Type<object>, fc.Arbitrary<object>]>([
  ['BatchCreateJobsDto', BatchCreateJobsDto, batch],
  ['CreateJobDto', CreateJobDto, jobItem],
  ['SleepPayload', SleepPayload, sleepPayload],
  ['HttpPayload', HttpPayload, httpPayload],
])('the fast path of %s', (_name, cls, items) => {
  it('never accepts what class-validator refuses, and builds the instance it would', () => {
    const fast = fastValidator(cls)!;
    let accepted = 0;
    fc.assert(
      fc.property(items, (plain) => {
        fc.pre(findUnstorableValue(plain) === undefined);
        const answer = fast(plain);
        if (answer === undefined) return;
        accepted += 1;
        expect(classValidate(cls, plain)).toStrictEqual(answer);
      }),
      { numRuns: 10_000 },
    );
    expect(accepted).toBeGreaterThan(200);
  });
});

it('takes the benchmark item, the commonest batch item, on the fast path', () => {
  expect(fastValidator(CreateJobDto)!({ type: 'noop', payload: {} })).toBeInstanceOf(CreateJobDto);
});

it.each([{ type: 'noop' }, { type: 'noop', payload: null }])(
  'refuses an item without a payload: %j',
  (item) => {
    expect(fastValidator(CreateJobDto)!(item)).toBeUndefined();
    expect(classValidate(CreateJobDto, item)).toEqual([expect.objectContaining({ field: 'payload' })]);
  },
);
