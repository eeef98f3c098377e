/**
 * Spawning the real `callrec` processes: the service (`src/main.ts`, as `npm start`
 * runs it) and the CLI (`src/cli/main.ts`), each with only the CALLREC_* variables given.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from './backends.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The environment of this process without any CALLREC_* variable, plus `env`. */
function childEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CALLREC_')) base[k] = v;
  return { ...base, ...env };
}

/** How the service is started: node arguments before any of its own. */
export interface MainEntry {
  name: string;
  args: string[];
}

/** `npm start`'s way: the TypeScript sources through tsx. */
export const TSX_ENTRY: MainEntry = { name: 'tsx src/main.ts', args: ['--import', 'tsx', 'src/main.ts'] };

/**
 * The container's way: `scripts/build` into a fresh folder (with this checkout's
 * node_modules and package.json beside it, as in the image), then `node dist/main.js`.
 * Built once per test process.
 */
export const buildDistEntry = (() => {
  let built: Promise<MainEntry> | undefined;
  return (): Promise<MainEntry> => {
    built ??= (async () => {
      const app = tempDir('callrec-dist-');
      process.once('exit', () => fs.rmSync(app, { recursive: true, force: true }));
      await promisify(execFile)('bash', ['scripts/build', path.join(app, 'dist')], { cwd: ROOT });
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'));
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
      return { name: 'node dist/main.js', args: [path.join(app, 'dist', 'main.js')] };
    })();
    return built;
  };
})();

/** Runs the service (default: as `npm start` does). */
export function startMain(env: Record<string, string>, entry: MainEntry = TSX_ENTRY): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, entry.args, { cwd: ROOT, env: childEnv(env) });
}

export interface CollectedOutput {
  out(): string;
  err(): string;
  exit: Promise<number | null>;
}

export function collect(child: ChildProcessWithoutNullStreams): CollectedOutput {
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { out: () => out, err: () => err, exit };
}

/** Polls `predicate` every 50 ms; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for the service's "listening on <url>" line and returns the URL. */
export async function listeningUrl(io: CollectedOutput): Promise<string> {
  const pattern = /listening on (http:\/\/\S+?)\/? /;
  await waitFor(() => pattern.test(io.out()), `the URL line (stderr: ${io.err().slice(-500)})`, 120_000);
  return pattern.exec(io.out())![1]!;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one `callrec` CLI command to its end. */
export function runCli(env: Record<string, string>, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: childEnv({ CALLREC_LOG_LEVEL: 'warn', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
