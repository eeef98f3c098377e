/** Spawns the crash suites' child scripts (test/crash/*-child.ts) as real processes and waits for them. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DbConfig, StoreConfig } from '../../src/config.js';
import { dbBackends, storeBackends } from '../support/backends.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sweeper-child.ts');

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runSweeperChild(options: {
  db: DbConfig;
  store: StoreConfig;
  now: number;
  batchSize?: number;
  leaseMs?: number;
  failpoint?: string;
  eraseId?: string;
  /** The keyring file of the child's encrypting store; without, the child uses the plain store. */
  keyringFile?: string;
}): Promise<ChildResult> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    CALLREC_TEST_CHILD_DB: JSON.stringify(options.db),
    CALLREC_TEST_CHILD_STORE: JSON.stringify(options.store),
    CALLREC_TEST_CHILD_NOW: String(options.now),
    CALLREC_TEST_CHILD_BATCH: String(options.batchSize ?? 50),
    CALLREC_TEST_CHILD_LEASE: String(options.leaseMs ?? 600_000),
  };
  if (options.keyringFile) env.CALLREC_TEST_CHILD_KEYRING = options.keyringFile;
  else delete env.CALLREC_TEST_CHILD_KEYRING;
  if (options.failpoint) env.CALLREC_TEST_FAILPOINT = options.failpoint;
  else delete env.CALLREC_TEST_FAILPOINT;
  if (options.eraseId) env.CALLREC_TEST_CHILD_ERASE = options.eraseId;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', CHILD], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The two backend pairs every crash suite runs on: the embedded default and the production pair. */
export const CRASH_BACKENDS = [
  {
    name: 'sqlite+fs' as const,
    db: dbBackends.find((b) => b.name === 'sqlite')!,
    store: storeBackends.find((b) => b.name === 'fs')!,
  },
  {
    name: 'postgres+minio' as const,
    db: dbBackends.find((b) => b.name === 'postgres')!,
    store: storeBackends.find((b) => b.name === 'minio')!,
  },
];

/** Runs `script` (a test/crash/*-child.ts file) under tsx with this process's environment plus `env`. */
export function runChildScript(script: string, env: Record<string, string>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', script], {
      env: { ...(process.env as Record<string, string>), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
