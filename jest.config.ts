import { availableParallelism } from 'node:os';
import type { Config } from 'jest';
import { pathsToModuleNameMapper } from 'ts-jest';
import ts from 'typescript';

// Path aliases live in tsconfig.json only; read them from there.
const { config: tsconfig } = ts.readConfigFile('./tsconfig.json', ts.sys.readFile);
const moduleNameMapper = pathsToModuleNameMapper(tsconfig?.compilerOptions?.paths ?? {}, {
  prefix: '<rootDir>/',
});

// NestJS 12 and a few of its dependencies ship ESM only. Node runs them through require(esm),
// but Jest supports that only on Node >= 24.9, so under Jest they are compiled to CommonJS.
const ESM_ONLY = [
  '@nestjs',
  'file-type',
  'strtok3',
  'token-types',
  '@tokenizer',
  '@borewit',
  'uint8array-extras',
  'cookie',
  'content-disposition',
];

// Type checking is `npm run typecheck`'s job (part of lint); here SWC only transpiles, fast.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

const base: Config = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleNameMapper,
  transform: { '^.+\\.(t|j)s$': swc as [string, object] },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
};

const config: Config = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{src,libs}/**/*.spec.ts'] },
    {
      ...base,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.{e2e,int}-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      slowTestThreshold: 30,
    },
  ],
  testTimeout: 60_000,
  // The e2e files spend most of their time waiting on timers (leases, backoff, polls, outages),
  // not on the CPU: Jest's default of one worker per core but one left a core idle on a 2-core
  // machine. Two workers there took the embedded run from 455 s to 222 s, each file as fast as alone.
  maxWorkers: Math.max(2, availableParallelism() - 1),
};

export default config;
