/**
 * The `callrec import …` and `callrec imports list` commands (S3 drop-bucket sources), spawned
 * as real child processes against a real SQLite file and a real PostgreSQL database.
 */
import fs from 'node:fs';
import { expect } from 'chai';
import { insertQueuedImport } from '../../src/db/import-sources.js';
import { sha256Hex } from '../../src/ingest/adapters/s3-drop.js';
import { dbBackends, tempDir } from '../support/backends.js';
import type { TestDb } from '../support/backends.js';
import { runCli } from '../support/process.js';
import type { CliRun } from '../support/process.js';

function dbUrl(testDb: TestDb): string {
  return testDb.config.client === 'pg' ? testDb.config.url : `sqlite:${testDb.config.filename}`;
}

for (const backend of dbBackends) {
  describe(`callrec import/imports CLI (${backend.name})`, function () {
    this.timeout(60_000);
    let testDb: TestDb;
    let dataDir: string;
    const cli = (...args: string[]): Promise<CliRun> =>
      runCli(
        { CALLREC_DB_URL: dbUrl(testDb), CALLREC_DATA_DIR: dataDir, CALLREC_INGEST_SOURCES: 'pbx-1:0123456789abcdef0' },
        ...args,
      );

    before(async () => {
      testDb = await backend.create();
      dataDir = tempDir('callrec-import-cli-');
    });
    after(async () => {
      await testDb.dispose();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('when a source is added, then stdout is only its webhook secret, stored as its sha256, and list-sources shows the source without secret or hash', async () => {
      const run = await cli(
        'import',
        'add-s3',
        '--name',
        'connect',
        '--endpoint',
        'http://127.0.0.1:9',
        '--bucket',
        'acme-connect',
        '--prefix',
        'connect/acme/CallRecordings/',
        '--layout',
        'amazon-connect',
        '--delete-source',
      );
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.match(/^crs_[A-Za-z0-9_-]{43}\n$/);
      const secret = run.stdout.trim();
      const row = (await testDb.db.knex('import_sources').where({ name: 'connect' }).first()) as {
        secret_sha256: string;
      };
      expect(row.secret_sha256).to.equal(sha256Hex(secret));

      const list = await cli('import', 'list-sources');
      expect(list.code).to.equal(0);
      expect(list.stdout).not.to.include(secret).and.not.include(row.secret_sha256);
      expect(
        list.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown),
      ).to.deep.equal([
        {
          name: 'connect',
          kind: 's3',
          endpoint: 'http://127.0.0.1:9',
          region: 'us-east-1',
          bucket: 'acme-connect',
          prefix: 'connect/acme/CallRecordings/',
          layout: 'amazon-connect',
          deleteSource: true,
          pathStyle: true,
          sidecarWaitMs: 0,
          lastPassAt: null,
          lastPassError: null,
        },
      ]);
    });

    it('when a source is added with a bad layout, a taken name or the name of a hook source, then stderr says why, stdout is empty and the exit is non-zero', async () => {
      for (const args of [
        ['--name', 'x1', '--bucket', 'acme-b', '--layout', 'genesys'],
        ['--name', 'connect', '--bucket', 'acme-b', '--layout', 'sidecar-json'],
        ['--name', 'pbx-1', '--bucket', 'acme-b', '--layout', 'sidecar-json'],
      ]) {
        const run = await cli('import', 'add-s3', ...args);
        expect(run.code, args.join(' ')).to.equal(1);
        expect(run.stdout).to.equal('');
        expect(run.stderr).to.match(/callrec: /);
      }
      expect(await testDb.db.knex('import_sources').pluck('name')).to.deep.equal(['connect']);
    });

    it('when imports are listed, then each is one JSON line of the common import shape, and remove takes the source and its imports away', async () => {
      await insertQueuedImport(testDb.db.knex, {
        source: 'connect',
        object_key: 'connect/acme/CallRecordings/2026/11/30/abc_20261130T09:30_UTC.wav',
        etag: '"e"',
        sidecar_etag: null,
        size: 10,
        now: Date.UTC(2026, 10, 30, 10),
      });
      const run = await cli('imports', 'list', '--source', 'connect', '--json');
      expect(run.code, run.stderr).to.equal(0);
      expect(JSON.parse(run.stdout.trim())).to.deep.equal({
        adapter: 's3-drop',
        source: 'connect',
        externalId: 'connect/acme/CallRecordings/2026/11/30/abc_20261130T09:30_UTC.wav',
        status: 'queued',
        attempts: 0,
        lastErrorCode: null,
        recordingId: null,
        updatedAt: '2026-11-30T10:00:00.000Z',
        lastError: null,
      });
      expect((await cli('imports', 'list', '--status', 'nope')).code).to.equal(2);

      expect((await cli('import', 'remove', 'connect')).code).to.equal(0);
      expect(await testDb.db.knex('import_sources').select('name')).to.deep.equal([]);
      expect(await testDb.db.knex('s3_imports').select('source')).to.deep.equal([]);
      expect((await cli('import', 'remove', 'connect')).code).to.equal(1);
    });
  });
}
