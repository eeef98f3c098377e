/**
 * The real service (`src/main.ts`) as a child process, for process-level tests.
 *
 *   const service = startService({ CALLREC_DATA_DIR: dataDir });
 *   const url = await service.url();
 *   service.child.kill('SIGTERM'); expect(await service.exit).to.deep.equal({ code: 0, signal: null });
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServiceProcess {
  child: ChildProcessWithoutNullStreams;
  out(): string;
  err(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The URL the service prints once it listens (after its crash recovery). */
  url(timeoutMs?: number): Promise<string>;
  /** SIGKILLs the process (if it still runs) and resolves once it is gone. */
  kill(): Promise<void>;
}

/** Starts `src/main.ts` as `npm start` does, on port 0, with only the given CALLREC_* variables (plus a quiet log level). */
export function startService(env: Record<string, string>): ServiceProcess {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CALLREC_')) base[k] = v;
  const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...base, CALLREC_PORT: '0', CALLREC_LOG_LEVEL: 'warn', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let exited = false;
  void exit.then(() => (exited = true));
  return {
    child,
    out: () => out,
    err: () => err,
    exit,
    async url(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = /listening on (http:\/\/\S+?)\/? /.exec(out);
        if (match) return match[1]!;
        if (exited) throw new Error(`the service exited before listening: ${err}`);
        if (Date.now() > deadline) throw new Error(`the service did not listen within ${timeoutMs} ms: ${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async kill() {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
  };
}
