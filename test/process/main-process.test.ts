/**
 * The service as a process, started both ways it ships: `npm start`'s (tsx over
 * src/main.ts) and the container's (the compiled `node dist/main.js`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../support/backends.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import {
  buildDistEntry,
  collect,
  listeningUrl,
  startMain as startEntry,
  TSX_ENTRY,
  waitFor,
} from '../support/process.js';
import type { MainEntry } from '../support/process.js';
import { signedUpload, TEST_SECRET, TEST_SOURCE } from '../support/upload.js';
import { signIn } from '../support/users.js';

const ENTRIES: Array<{ name: string; entry: () => Promise<MainEntry> }> = [
  { name: TSX_ENTRY.name, entry: async () => TSX_ENTRY },
  { name: 'node dist/main.js', entry: buildDistEntry },
];

for (const { name, entry: makeEntry } of ENTRIES)
  describe(`the service process (${name})`, function () {
    let entry: MainEntry;
    before(async function () {
      this.timeout(300_000);
      entry = await makeEntry();
    });
    const startMain = (env: Record<string, string>) => startEntry(env, entry);

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

    it('when the web UI is asked for its files, then it serves the pages and assets the document lists and not the router module beside them', async () => {
      const dataDir = tempDir();
      const child = startMain({ CALLREC_DATA_DIR: dataDir, CALLREC_PORT: '0', CALLREC_LOG_LEVEL: 'warn' });
      const io = collect(child);
      try {
        const url = await listeningUrl(io);
        const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
          paths: Record<string, { get: { parameters: Array<{ schema: { enum: string[] } }> } }>;
        };
        const assets = doc.paths['/assets/{file}']!.get.parameters[0]!.schema.enum;
        expect(assets).to.include.members(['app.css', 'player.js']).and.not.include('web-routes.js');
        for (const file of assets) expect((await fetch(`${url}/assets/${file}`)).status, file).to.equal(200);
        for (const page of doc.paths['/{page}']!.get.parameters[0]!.schema.enum)
          expect((await fetch(`${url}/${page}`)).status, page).to.equal(200);
        for (const file of ['web-routes.js', 'web-routes.js.map', 'web-routes.ts'])
          expect((await fetch(`${url}/assets/${file}`)).status, file).to.equal(404);
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
    it('when a signed upload arrives, then it is stored and the admin can play it back with a ranged request', async () => {
      const dataDir = tempDir();
      const child = startMain({
        CALLREC_DATA_DIR: dataDir,
        CALLREC_PORT: '0',
        CALLREC_LOG_LEVEL: 'warn',
        CALLREC_INGEST_SOURCES: `${TEST_SOURCE}:${TEST_SECRET}`,
        // The admin's second factor is test/http/mfa.test.ts's subject; here a password session suffices.
        CALLREC_MFA_REQUIRED_ROLES: 'none',
      });
      const io = collect(child);
      try {
        const url = await listeningUrl(io);
        const password = /password: (\S+)/.exec(io.out())![1]!;
        const upload = await signedUpload({
          url,
          fields: { callId: 'process-call-1', startedAt: new Date().toISOString() },
          audio: await audioFixtureBytes('ulaw-mono'),
        });
        expect(upload.status, upload.text).to.equal(201);
        const session = await signIn(url, 'admin', password);
        const audio = await fetch(`${url}/v1/recordings/${upload.body.id}/audio`, {
          headers: { ...session.headers, range: 'bytes=0-3' },
        });
        expect(audio.status).to.equal(206);
        expect(audio.headers.get('content-range')).to.match(/^bytes 0-3\/\d+$/);
        expect(Buffer.from(await audio.arrayBuffer()).toString('latin1')).to.equal('OggS');
        child.kill('SIGTERM');
        expect(await io.exit).to.equal(0);

        // Encrypted at rest by default: what lies in the data folder is not audio; the keyring is the owner's alone.
        const stored = fs
          .readdirSync(path.join(dataDir, 'objects'), { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile() && !e.name.startsWith('.'));
        expect(stored.map((e) => e.name).sort()).to.deep.equal(['original.wav', 'playback.ogg']);
        for (const e of stored)
          expect(fs.readFileSync(path.join(e.parentPath, e.name)).subarray(0, 8).toString('latin1')).to.equal(
            'callrec\x01',
          );
        expect(fs.statSync(path.join(dataDir, 'keyring')).mode & 0o777).to.equal(0o600);

        // Without its keyring the service refuses to start, in one line, and makes no new keyring.
        fs.renameSync(path.join(dataDir, 'keyring'), path.join(dataDir, 'keyring.moved'));
        const again = collect(startMain({ CALLREC_DATA_DIR: dataDir, CALLREC_PORT: '0', CALLREC_LOG_LEVEL: 'warn' }));
        expect(await again.exit).to.equal(1);
        const lines = again.err().trim().split('\n');
        expect(lines, again.err()).to.have.length(1);
        expect(lines[0]).to.match(
          /^callrec: failed to start: the keyring .* is missing, but 1 recordings are encrypted/,
        );
        expect(fs.existsSync(path.join(dataDir, 'keyring'))).to.equal(false);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
