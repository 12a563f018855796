/**
 * Bench child processes (a peer's worker, the bare API, the bare drain) as plain JavaScript: the
 * TypeScript file and its relative imports are transpiled into dist/bench-children/ and forked with
 * plain node, so the child's RSS holds the system under test and not ts-node's compiler. Their own
 * folder, so that a library file a child imports (libs/…) never overwrites the service's build.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';
import type { FromChild, ToChild } from './child-side';

const ROOT = resolve(__dirname, '..', '..');
const OUT = join(ROOT, 'dist', 'bench-children');

function transpile(file: string, done = new Set<string>()): string {
  const out = join(OUT, relative(ROOT, file)).replace(/\.ts$/, '.js');
  if (done.has(file)) return out;
  done.add(file);
  const source = readFileSync(file, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      sourceMap: false,
    },
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, outputText);
  for (const [, spec] of source.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
    transpile(resolve(dirname(file), `${spec}.ts`), done);
  }
  return out;
}

export class BenchChild {
  /** Jobs handled so far, as last reported by the child. */
  handled = 0;
  private readonly waiters: ((message: FromChild) => boolean)[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(readonly proc: ChildProcess) {
    proc.on('message', (message: FromChild) => {
      if (message.type === 'count') this.handled = message.handled;
      const index = this.waiters.findIndex((waiter) => waiter(message));
      if (index >= 0) this.waiters.splice(index, 1);
    });
    this.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  static async start(
    file: string,
    env: Record<string, string>,
  ): Promise<{ child: BenchChild; port?: number }> {
    const child = new BenchChild(
      fork(transpile(file), [], {
        env: { PATH: process.env.PATH, NODE_ENV: 'production', ...env },
        // pg-boss and graphile-worker are ES modules loaded with require(): Node 20 warns once.
        execArgv: ['--no-warnings=ExperimentalWarning'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    const ready = await child.next('ready');
    return { child, port: ready.port };
  }

  /** The next message of `type`; rejects if the child reports a failure or exits first. */
  next<T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.waiters.push((message) => {
        if (message.type === 'failed') reject(new Error(`child failed: ${message.message}`));
        else if (message.type === type) resolve(message as Extract<FromChild, { type: T }>);
        else return false;
        return true;
      });
      void this.exited.then((code) => reject(new Error(`child exited (${code}) before "${type}"`)));
    });
  }

  send(message: ToChild): void {
    this.proc.send(message);
  }

  /**
   * Offset of the child's performance.now() from ours, NTP-style: the round trip with the
   * smallest delay bounds the error to half of it (tens of µs over IPC).
   */
  async clockOffset(samples = 40): Promise<number> {
    let best = { rtt: Infinity, offset: 0 };
    for (let i = 0; i < samples; i += 1) {
      const pong = this.next('pong');
      this.send({ type: 'ping', t0: performance.now() });
      const { t0, at } = await pong;
      const rtt = performance.now() - t0;
      if (rtt < best.rtt) best = { rtt, offset: at - (t0 + rtt / 2) };
    }
    return best.offset;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const kill = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    this.send({ type: 'stop' });
    await this.exited;
    clearTimeout(kill);
  }
}
