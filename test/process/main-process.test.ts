import fs from 'node:fs';
import { expect } from 'chai';
import { tempDir } from '../support/backends.js';
import { collect, startMain, waitFor } from '../support/process.js';

describe('the service process (src/main.ts)', () => {
  it('when CALLREC_RETENTION is bogus, then the start stops with one line naming the variable and a non-zero exit', async () => {
    const dataDir = tempDir();
    const child = startMain({ CALLREC_RETENTION: 'forever', CALLREC_DATA_DIR: dataDir, CALLREC_PORT: '0' });
    const io = collect(child);
    const code = await io.exit;
    expect(code).to.not.equal(0);
    const lines = io.err().trim().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/CALLREC_RETENTION expects a duration/);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when started on the embedded default, then it prints the URL and the admin password, serves /healthz and /readyz, and stops cleanly on SIGTERM', async () => {
    const dataDir = tempDir();
    const child = startMain({ CALLREC_DATA_DIR: dataDir, CALLREC_PORT: '0', CALLREC_LOG_LEVEL: 'warn' });
    const io = collect(child);
    try {
      await waitFor(() => /listening on (http:\/\/\S+?)\/? /.test(io.out()), 'the URL line');
      const url = /listening on (http:\/\/\S+?)\/? /.exec(io.out())![1]!;
      expect(io.out()).to.match(/admin/);
      expect(io.out()).to.match(/password/i);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).to.equal(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).to.equal(200);
      expect(await ready.json()).to.deep.include({ status: 'ready' });
      expect(fs.existsSync(`${dataDir}/callrec.sqlite`)).to.equal(true);
      child.kill('SIGTERM');
      expect(await io.exit).to.equal(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('when SIGTERM arrives the moment the URL is printed, then the process still stops cleanly', async () => {
    const dataDir = tempDir();
    try {
      for (let round = 0; round < 3; round++) {
        const child = startMain({ CALLREC_DATA_DIR: dataDir, CALLREC_PORT: '0', CALLREC_LOG_LEVEL: 'warn' });
        const io = collect(child);
        // Signalled from the data handler itself: no polling delay between the line and the signal.
        child.stdout.on('data', (c: Buffer) => {
          if (/listening on/.test(c.toString())) child.kill('SIGTERM');
        });
        expect(await io.exit, `round ${round}: ${io.err()}`).to.equal(0);
        expect(io.out()).to.match(/listening on/);
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('when started a second time on the same data dir, then no new admin password is printed', async () => {
    const dataDir = tempDir();
    try {
      for (const round of [1, 2]) {
        const child = startMain({ CALLREC_DATA_DIR: dataDir, CALLREC_PORT: '0', CALLREC_LOG_LEVEL: 'warn' });
        const io = collect(child);
        await waitFor(() => /listening on/.test(io.out()), 'the URL line');
        if (round === 1) expect(io.out()).to.match(/password/i);
        else expect(io.out()).not.to.match(/password/i);
        child.kill('SIGTERM');
        expect(await io.exit).to.equal(0);
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
