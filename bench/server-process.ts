/**
 * The service in a process of its own (bench/ingest-server.ts), as in production: the
 * benchmark's client (and its baseline work) then runs beside it, not in its event loop.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface ServerProcess {
  base: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the server with exactly `env` (plus PATH); resolves with its base URL once it listens.
 * `script` (in bench/, default the service) must print `port=<n>` when it listens.
 */
export async function startServerProcess(env: Record<string, string>, options: { script?: string; args?: string[] } = {}): Promise<ServerProcess> {
  const script = path.join(import.meta.dirname, options.script ?? 'ingest-server.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...(options.args ?? [])], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /port=(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
