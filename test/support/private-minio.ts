/**
 * A PRIVATE MinIO for tests that must stop the server or start it differently (own port and data
 * dir, on 127.0.0.1; the shared one is never touched): the same binary scripts/test starts
 * (CALLREC_TEST_MINIO_BIN), with `env` added (e.g. MINIO_KMS_SECRET_KEY for a single-key KMS).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export class PrivateMinio {
  private process: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly dataDir: string,
    readonly credentials: { user: string; password: string },
    readonly env: Record<string, string> = {},
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const bin = process.env.CALLREC_TEST_MINIO_BIN;
    if (!bin) throw new Error('CALLREC_TEST_MINIO_BIN is not set: run the tests with `bash scripts/test`');
    this.process = spawn(
      bin,
      ['server', this.dataDir, '--address', `127.0.0.1:${this.port}`, '--console-address', '127.0.0.1:0', '--quiet'],
      {
        env: {
          ...process.env,
          MINIO_ROOT_USER: this.credentials.user,
          MINIO_ROOT_PASSWORD: this.credentials.password,
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
          ...this.env,
        },
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(`${this.endpoint}/minio/health/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('private MinIO did not become ready');
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    this.process = undefined;
  }
}
