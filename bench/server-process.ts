/**
 * A bench-only server in a process of its own (the baselines' servers, e.g. the bare
 * node:http proxy of bench/proxy-floor-server.ts). The benchmarked service itself is started
 * by bench/service.ts, through its production entry.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** What src/main.ts prints once it listens: `callrec is listening on http://host:port/ …`. */
export const MAIN_READY = /callrec is listening on http:\/\/[^/\s]*:(\d+)\//;

export interface ServerProcess {
  base: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `script` (relative to bench/) with exactly `env` (plus PATH); resolves with its base
 * URL once it prints a line matching `ready` (default `port=<n>`; the port is its first group).
 */
export async function startServerProcess(
  env: Record<string, string>,
  options: { script: string; args?: string[]; ready?: RegExp },
): Promise<ServerProcess> {
  const script = path.join(import.meta.dirname, options.script);
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...(options.args ?? [])], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = (options.ready ?? /port=(\d+)/).exec(out);
      if (m) {
        resolve(Number(m[1]));
        out = '';
      } else if (out.length > 65_536) {
        out = out.slice(-4096);
      }
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
