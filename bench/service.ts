/**
 * The benchmarked service is the production service: `src/main.ts` as `npm start` runs it
 * (BENCH_ENTRY=tsx), or the compiled `dist/main.js` the container runs (BENCH_ENTRY=dist, the
 * default; built once per `npm run bench` by test/support/process.ts's `buildDistEntry`).
 * Nothing is wired for the benchmark: the process loads its own configuration, runs its crash
 * recovery, serves with metrics on, runs its background jobs (sweeper, scheduler, checkpoints)
 * and logs at level `info` with the request log on. Its stdout and stderr go to a log file in
 * the bench's scratch folder (written as production writes to journald or a file), which is
 * also where the ready line is read from.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, TSX_ENTRY, buildDistEntry } from '../test/support/process.js';
import type { MainEntry } from '../test/support/process.js';
import { MAIN_READY } from './server-process.js';
import type { BenchContext } from './types.js';

export interface ServiceProcess {
  /** `http://127.0.0.1:<port>` */
  base: string;
  pid: number;
  /** How it was started, e.g. `node dist/main.js`. */
  entry: string;
  logFile: string;
  /** Lines of the request log written so far (proof that it is on). */
  requestLines(): number;
  /** A memory field of /proc/<pid>/status in kB: VmHWM is the peak RSS since start. */
  memoryKb(field: 'VmHWM' | 'VmRSS'): number;
  /** SIGTERM, then waits for the exit (SIGKILL after 20 s). */
  stop(): Promise<void>;
}

/** The entry BENCH_ENTRY names: `dist` (default, the container's) or `tsx` (`npm start`'s). */
export async function serviceEntry(env: BenchContext['env']): Promise<MainEntry> {
  const name = env.BENCH_ENTRY ?? 'dist';
  if (name === 'tsx') return TSX_ENTRY;
  if (name === 'dist') return buildDistEntry();
  throw new Error(`BENCH_ENTRY expects dist or tsx, got ${JSON.stringify(name)}`);
}

/** The environment of the service: PATH, HOME and the given CALLREC_* settings, on a loopback port, logging at info. */
function serviceEnv(env: Record<string, string>): Record<string, string> {
  for (const key of Object.keys(env))
    if (!key.startsWith('CALLREC_')) throw new Error(`the service takes CALLREC_* settings only, not ${key}`);
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    CALLREC_HOST: '127.0.0.1',
    CALLREC_PORT: '0',
    ...env,
    // Production's level: the request log (one info line per request) is written.
    CALLREC_LOG_LEVEL: 'info',
  };
}

/**
 * Starts the service with exactly the CALLREC_* settings `env` (no database, store or key is
 * handed over: it opens its own) and resolves once it prints that it listens.
 */
export async function startService(
  ctx: Pick<BenchContext, 'tmpDir' | 'env'>,
  env: Record<string, string>,
  options: { name: string; timeoutMs?: number },
): Promise<ServiceProcess> {
  const entry = await serviceEntry(ctx.env);
  const logFile = path.join(ctx.tmpDir, `${options.name}.service.log`);
  const fd = fs.openSync(logFile, 'a');
  // BENCH_CPU_PROF=<dir>: the service writes a V8 CPU profile there when it stops (SIGTERM), for a per-stage look.
  const profile = ctx.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(ctx.env.BENCH_CPU_PROF)}`]
    : [];
  const child = spawn(process.execPath, ['--no-warnings', ...profile, ...entry.args], {
    cwd: ROOT,
    env: serviceEnv(env),
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolve();
    }),
  );
  const tail = () => fs.readFileSync(logFile, 'utf8').slice(-2000);
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let port: number | undefined;
  while (port === undefined) {
    const match = MAIN_READY.exec(fs.readFileSync(logFile, 'utf8'));
    if (match) port = Number(match[1]);
    else if (exitCode !== undefined)
      throw new Error(`the service (${entry.name}) exited ${exitCode} before listening: ${tail()}`);
    else if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service (${entry.name}) did not listen in time: ${tail()}`);
    } else await new Promise((r) => setTimeout(r, 50));
  }
  const pid = child.pid!;
  return {
    base: `http://127.0.0.1:${port}`,
    pid,
    entry: entry.name,
    logFile,
    requestLines: () =>
      fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"msg":"request"')).length,
    memoryKb: (field) => readStatusKb(pid, field),
    async stop() {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** A field of /proc/<pid>/status in kB (VmHWM: peak resident set since the process started). */
export function readStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}
