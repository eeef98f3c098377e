/**
 * schemathesis (pinned, from PyPI; scripts/schemathesis/ensure) fuzzes every
 * operation of `/openapi.json` against the real app on PostgreSQL + MinIO and
 * on SQLite + fs,
 * with credentials of every role and signed uploads (scripts/schemathesis/hooks.py).
 *
 * Checks: all of them (`--checks all`). Among them not_a_server_error (no 5xx),
 * status_code_conformance, content_type_conformance,
 * response_headers_conformance and response_schema_conformance (answers are
 * what the document says), negative_data_rejection (schema-violating input is
 * refused with 4xx), positive_data_acceptance (schema-valid input is not
 * refused as malformed: 2xx, or 401/403/404/409/429, and 416 for a Range
 * beyond the stored audio (scripts/schemathesis/schemathesis.toml); the hooks
 * give positive cases real audio, a recent startedAt and an offset within the
 * recording: the rules no schema can state), unsupported_method (an undeclared method is
 * 405 with Allow), allow_header_conformance (OPTIONS lists exactly the
 * documented methods, plus HEAD and OPTIONS), missing_required_header and
 * ignored_auth (a secured operation refuses a request without credentials).
 * use_after_free, ensure_resource_availability and object_level_authorization
 * judge sequences of calls: they run, but only the stateful phase (left out:
 * the document declares no links) would give them something to judge.
 * Bounded: 20 examples per operation, fixed seed (reproducible), a 7-minute cap
 * per backend pair (about 40 s each here, 2.5 minutes on a heavily loaded machine).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROLES } from '../../src/auth/principal.js';
import { systemClock } from '../../src/clock.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixture } from '../support/fixtures.js';
import { signedUpload, TEST_SECRET, TEST_SOURCE } from '../support/upload.js';
import { createTestUser, signIn } from '../support/users.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MAX_EXAMPLES = '20';
const SEED = '20261127';
const RUN_LIMIT_MS = 420_000;
/** The caller of the seeded recordings: neither an example of the document nor a number of the hooks' `phone` format, so no subject erasure takes them away. */
const SEEDED_CALLER = '+31301234567';

interface StRun {
  code: number | null;
  output: string;
  timedOut: boolean;
}

function runSchemathesis(st: string, args: string[], env: Record<string, string>, cwd: string): Promise<StRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(st, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, RUN_LIMIT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

const combos = [
  { db: 'postgres', store: 'minio' },
  { db: 'sqlite', store: 'fs' },
] as const;

for (const combo of combos)
  describe(`schemathesis against /openapi.json (${combo.db}, ${combo.store})`, function () {
    this.timeout(600_000);
    let st: string;
    let testDb: TestDb;
    let testStore: TestStore;
    let app: TestApp;
    let work: string;
    let result: StRun;
    let operations: string[];

    before(async function () {
      st = (await run('bash', [path.join(ROOT, 'scripts/schemathesis/ensure')], { encoding: 'utf8' })).stdout.trim();
      testDb = await dbBackends.find((b) => b.name === combo.db)!.create();
      testStore = await storeBackends.find((b) => b.name === combo.store)!.create();
      // The real clock: the upload signatures carry the wall-clock time.
      app = await startTestApp({ db: testDb.db, store: testStore.store, config: testConfig(), clock: systemClock });
      work = tempDir('callrec-schemathesis-');

      const credentials: Record<string, { token: string; cookie: string }> = {};
      for (const role of ROLES) {
        const user = await createTestUser(testDb.db, {
          role,
          ...(role === 'agent' ? { agentId: 'agent-schemathesis' } : {}),
        });
        const session = await signIn(app.url, user.user.username, user.password);
        credentials[role] = { token: user.token, cookie: session.cookie };
      }
      // One second of audio: every schema-valid upload carries it, so each transcode stays short.
      const audio = await audioFixture('ulaw-mono', { seconds: 1 });
      const ids: string[] = [];
      let durationMs = 0;
      // Four recordings for reading, notes and holds; four more only the erasure of one recording gets.
      for (let i = 0; i < 8; i++) {
        const res = await signedUpload({
          url: app.url,
          fields: {
            callId: `st-seed-${i}`,
            startedAt: new Date().toISOString(),
            queue: 'sales',
            direction: 'inbound',
            callerNumber: SEEDED_CALLER,
          },
          audio,
        });
        expect(res.status, res.text).to.equal(201);
        ids.push(res.body.id as string);
        durationMs = res.body.durationMs as number;
      }
      const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as { paths: Record<string, object> };
      operations = Object.entries(doc.paths)
        .flatMap(([p, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${p}`))
        // schemathesis never tests the operation that serves the document it loaded.
        .filter((op) => op !== 'GET /openapi.json');

      result = await runSchemathesis(
        st,
        [
          '--config-file',
          path.join(ROOT, 'scripts/schemathesis/schemathesis.toml'),
          'run',
          `${app.url}/openapi.json`,
          '--checks',
          'all',
          '--max-examples',
          MAX_EXAMPLES,
          '--seed',
          SEED,
          '--phases',
          'examples,coverage,fuzzing',
          // One worker: hypothesis' lambda introspection (ast.parse) is not thread-safe on CPython 3.11.
          '--workers',
          '1',
          '--request-timeout',
          '30',
          '--generation-with-security-parameters',
          'false',
          '--generation-database',
          'none',
          '--output-sanitize',
          'true',
          '--no-color',
          '--report',
          'junit',
          '--report-junit-path',
          path.join(work, 'junit.xml'),
        ],
        {
          PYTHONPATH: path.join(ROOT, 'scripts/schemathesis'),
          SCHEMATHESIS_HOOKS: 'hooks',
          CALLREC_ST_CREDENTIALS: JSON.stringify(credentials),
          CALLREC_ST_SOURCE: TEST_SOURCE,
          CALLREC_ST_SECRET: TEST_SECRET,
          CALLREC_ST_ORIGIN: new URL(app.url).origin,
          CALLREC_ST_AUDIO: audio,
          CALLREC_ST_RECORDING_IDS: ids.slice(0, 4).join(','),
          CALLREC_ST_ERASABLE_IDS: ids.slice(4).join(','),
          CALLREC_ST_AUDIO_DURATION_MS: String(durationMs),
        },
        work,
      );
    });

    after(async function () {
      await app?.close();
      await testStore?.dispose();
      await testDb?.dispose();
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it('when every operation is fuzzed with each role and every check, then schemathesis finds nothing: no 5xx, no undocumented answer, no valid input refused, no invalid input accepted, 405 with Allow', function () {
      fs.mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
      const log = `schemathesis-${combo.db}-${combo.store}.log`;
      fs.writeFileSync(path.join(ROOT, 'test-output', log), result.output);
      const failuresAt = result.output.indexOf('=== FAILURES');
      const tail = `(whole output: test-output/${log})\n${result.output.slice(failuresAt >= 0 ? failuresAt : -8000).slice(0, 12_000)}`;
      expect(result.timedOut, `schemathesis ran past ${RUN_LIMIT_MS / 1000}s\n${tail}`).to.equal(false);
      expect(result.code, tail).to.equal(0);
    });

    it('when the run is over, then every operation of the document was tested', function () {
      const junit = fs.readFileSync(path.join(work, 'junit.xml'), 'utf8');
      const tested = new Set([...junit.matchAll(/<testcase [^>]*name="([^"]+)"/g)].map((m) => m[1]));
      expect(
        operations.filter((op) => !tested.has(op)),
        'operations schemathesis did not test',
      ).to.deep.equal([]);
    });

    it('when the run is over, then the server still answers and logged no unhandled failure', async function () {
      const res = await fetch(`${app.url}/healthz`);
      expect(res.status).to.equal(200);
      const failures = app.logs.filter((line) => /"msg":"request failed"/.test(line));
      expect(failures, failures.slice(0, 5).join('\n')).to.deep.equal([]);
    });
  });
