/** Spawns test/crash/sweeper-child.ts as a real process and waits for it. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DbConfig, StoreConfig } from '../../src/config.js';

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
