import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import {
  IsEmail,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import fc from 'fast-check';
import { fastValidator, KeepAsSent } from './fast-validation';
import { findUnstorableValue } from './storable-json';
import { classValidate } from './validation.pipe';

class Inner {
  @IsInt()
  @Min(0)
  n!: number;
}

class Sample {
  @IsString()
  @MaxLength(5)
  s!: string;

  @IsOptional()
  @IsIn(['a', 'b'])
  pick?: string;

  @IsOptional()
  @IsString()
  @Matches(/^x+$/)
  xs?: string;

  @IsOptional()
  @IsInt()
  @Max(3)
  small?: number;

  @IsOptional()
  @IsObject()
  @KeepAsSent()
  free?: Record<string, unknown>;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => Inner)
  inner?: Inner;

  /** Not mirrored (IsEmail is outside VALUE_ONLY): present means the slow path. */
  @IsOptional()
  @IsEmail()
  email?: string;

  /** Not mirrored (an unknown transform). */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => value)
  @IsString()
  copied?: string;

  /** Not mirrored (a condition that reads other properties). */
  @IsOptional()
  @ValidateIf((o: Sample) => o.s === 'cond')
  @IsInt()
  conditional?: number;
}

const value = fc.oneof(
  fc.string({ maxLength: 7 }),
  fc.constantFrom('a', 'b', 'x', 'xxx', 'x y', 'cond', 'a@b.co', ''),
  fc.integer({ min: -2, max: 6 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.constantFrom('n', 'm', 'toString', 'constructor'), fc.oneof(fc.integer(), fc.string())),
);
// Each key mostly near its rules (so that many items pass), sometimes anything.
const near = (likely: fc.Arbitrary<unknown>) => fc.oneof({ arbitrary: likely, weight: 3 }, value);
const item = fc
  .record(
    {
      s: near(fc.string({ maxLength: 6 })),
      pick: near(fc.constantFrom('a', 'b', 'c')),
      xs: near(fc.stringMatching(/^x{0,3}y?$/)),
      small: near(fc.integer({ min: 0, max: 4 })),
      free: near(fc.object({ maxDepth: 1 })),
      inner: near(fc.record({ n: near(fc.integer({ min: -1, max: 3 })) }, { requiredKeys: [] })),
      email: value,
      copied: value,
      conditional: value,
      other: value,
    },
    { requiredKeys: [] },
  )
  .chain((plain) => {
    // Rarely the keys the fast path cannot mirror, so that most items are its to judge.
    const { email: _e, copied: _c, conditional: _n, other: _o, ...rest } = plain;
    return fc.constantFrom(plain, rest, rest, rest, rest);
  });

describe('fastValidator', () => {
  const fast = fastValidator(Sample)!;

  it('never accepts what class-transformer + class-validator refuse, and builds the same instance', () => {
    let accepted = 0;
    fc.assert(
      fc.property(item, (plain) => {
        // What reaches validateAs has passed the pipe's storable check (class-transformer throws
        // on a `constructor` key that check refuses).
        fc.pre(findUnstorableValue(plain) === undefined);
        const answer = fast(plain);
        if (answer === undefined) return;
        accepted += 1;
        expect(classValidate(Sample, plain)).toStrictEqual(answer);
      }),
      { numRuns: 5000 },
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it('answers for the plain shapes it mirrors, with the instance the slow path builds', () => {
    const plain = { s: 'abc', pick: 'a', small: 3, free: { toString: 1 }, inner: { n: 2 } };
    const answer = fast(plain);
    expect(answer).toBeInstanceOf(Sample);
    expect(answer?.inner).toBeInstanceOf(Inner);
    expect(answer?.free).toBe(plain.free);
    expect(classValidate(Sample, plain)).toStrictEqual(answer);
  });

  it('leaves to the slow path what it cannot mirror or is not sure of', () => {
    for (const plain of [
      { s: 'abc', email: 'a@b.co' },
      { s: 'abc', copied: 'x' },
      { s: 'abc', conditional: 1 },
      { s: 'abc', other: 1 },
      { s: 'abcdef' },
      { s: 'abc', inner: { n: 1, toString: 2 } },
      { s: 'abc', inner: [] },
      Object.assign(Object.create(null) as object, { s: 'abc' }),
    ]) {
      expect(fast(plain)).toBeUndefined();
    }
  });

  it('has nothing to compile for a class without validation metadata', () => {
    expect(fastValidator(class Empty {})).toBeNull();
  });

  it('leaves everything to the slow path when a required property is not mirrored', () => {
    class Strict {
      @ValidateIf(() => true)
      @IsInt()
      n!: number;
    }
    expect(fastValidator(Strict)!({})).toBeUndefined();
  });
});
