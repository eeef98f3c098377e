/**
 * A privacy case end to end (issue #17, "Figures"), against the production service
 * (bench/service.ts: its own process, log level info with the request log, metrics, background
 * jobs) on SQLite with the fs store:
 *
 * BENCH_PRIVACY_ROWS recordings (default 1,000,000; rows only, seeded inside the database by
 * test/support/scale-seed.ts) plus, per run, BENCH_PRIVACY_SUBJECT recordings (default 50, with
 * objects of BENCH_PRIVACY_KIB KiB each) of one new subject. One run, timed from the first
 * request to the last answer: register an erasure request → search the subject under it →
 * export the zip (drained) → erase every recording under it (objects deleted and verified,
 * one deletion-log entry each) → close the request → render the Dutch letter (checked to name
 * every deletion-log seq). Target: the whole case under 60 s (the law gives a month).
 */
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/db.js';
import { createObjectStore } from '../src/storage/create-store.js';
import { createStoredRecordings } from '../test/support/recordings.js';
import { seedRecordings } from '../test/support/scale-seed.js';
import { createTestUser } from '../test/support/users.js';
import { startService } from './service.js';
import { intKnob, rowFromRuns, seededRandom } from './spread.js';
import type { Bench, ResultRow } from './types.js';

const DAY_MS = 86_400_000;
const STEPS = ['register', 'search', 'export', 'erase', 'close', 'letter'] as const;
type Step = (typeof STEPS)[number];

async function call(
  base: string,
  token: string,
  pathAndQuery: string,
  options: { method?: string; body?: unknown; expect?: number } = {},
): Promise<{ status: number; text: string; bytes: number }> {
  const res = await fetch(`${base}${pathAndQuery}`, {
    method: options.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const buffer = Buffer.from(await res.arrayBuffer());
  const expected = options.expect ?? 200;
  if (res.status !== expected)
    throw new Error(`${options.method ?? 'GET'} ${pathAndQuery.split('?')[0]} answered ${res.status}, not ${expected}`);
  return { status: res.status, text: buffer.toString('utf8'), bytes: buffer.length };
}

export const privacyCaseBench: Bench = {
  name: 'privacy-case',
  async run(ctx) {
    const k = {
      rows: intKnob(ctx.env, 'BENCH_PRIVACY_ROWS', 1_000_000),
      subject: intKnob(ctx.env, 'BENCH_PRIVACY_SUBJECT', 50),
      kib: intKnob(ctx.env, 'BENCH_PRIVACY_KIB', 160),
    };
    const env = { CALLREC_DATA_DIR: path.join(ctx.tmpDir, 'privacy-case') };
    const config = loadConfig(env);
    const db = createDb(config.db);
    const store = await createObjectStore(config.store);
    const random = seededRandom(ctx.seed);
    try {
      await db.migrate();
      const now = Date.now();
      // Deadlines laid out over 30 days from now: (almost) nothing falls due while the bench runs.
      await seedRecordings(db, {
        rows: k.rows,
        now,
        dueWindowMs: 1_000,
        onProgress: (done) => ctx.progress(`privacy-case: seeded ${done}/${k.rows}`, (done / k.rows) * 0.4),
      });
      const subjects: string[] = [];
      for (let run = 0; run < ctx.runs; run++) {
        // +3162…: never one of the seeded customers (+3161…).
        const subject = `+3162${String(random.int(0, 10_000_000)).padStart(7, '0')}`;
        subjects.push(subject);
        ctx.progress(`privacy-case: storing the subject's recordings, run ${run + 1}`, 0.4 + (run / ctx.runs) * 0.1);
        await createStoredRecordings({
          db,
          store,
          count: k.subject,
          overrides: (i) => ({
            started_at: now - DAY_MS + i * 60_000,
            ...(i % 2 ? { callee_number: subject } : { caller_number: subject }),
            originalBody: random.bytes(k.kib * 1024),
            playbackBody: random.bytes(Math.ceil((k.kib * 1024) / 8)),
          }),
        });
      }
      const { token } = await createTestUser(db, { role: 'privacy' });
      const service = await startService(ctx, env, { name: 'privacy-case' });
      const totals: number[] = [];
      const steps = Object.fromEntries(STEPS.map((s) => [s, [] as number[]])) as Record<Step, number[]>;
      let zipBytes = 0;
      try {
        for (let run = 0; run < ctx.runs; run++) {
          ctx.progress(`privacy-case: case ${run + 1}/${ctx.runs}`, 0.5 + (run / ctx.runs) * 0.5);
          const phone = encodeURIComponent(subjects[run]!);
          const timed = async <T>(step: Step, work: () => Promise<T>): Promise<T> => {
            const t = performance.now();
            const result = await work();
            steps[step].push((performance.now() - t) / 1000);
            return result;
          };
          const start = performance.now();
          const created = await timed('register', () =>
            call(service.base, token, '/v1/privacy-requests', {
              method: 'POST',
              expect: 201,
              body: {
                kind: 'erasure',
                phone: subjects[run],
                receivedAt: new Date(Date.now() - 3_600_000).toISOString(),
                channel: 'email',
                identityVerified: true,
              },
            }),
          );
          const request = JSON.parse(created.text) as { id: string; reference: string };
          const q = `phone=${phone}&requestId=${request.id}`;
          const found = await timed('search', () =>
            call(service.base, token, `/v1/subjects/recordings?${q}&limit=500`),
          );
          const hits = (JSON.parse(found.text) as { items: unknown[] }).items.length;
          if (hits !== k.subject) throw new Error(`search found ${hits}, not ${k.subject}`);
          const zip = await timed('export', () => call(service.base, token, `/v1/subjects/export?${q}`));
          zipBytes = zip.bytes;
          const erased = await timed('erase', () =>
            call(service.base, token, `/v1/subjects/recordings?phone=${phone}`, {
              method: 'DELETE',
              body: { reason: 'erasure_request', reference: request.reference, requestId: request.id },
            }),
          );
          const seqs = (JSON.parse(erased.text) as { erased: Array<{ seq: number }> }).erased.map((e) => e.seq);
          if (seqs.length !== k.subject) throw new Error(`erased ${seqs.length}, not ${k.subject}`);
          await timed('close', () =>
            call(service.base, token, `/v1/privacy-requests/${request.id}/close`, {
              method: 'POST',
              body: { outcome: 'fulfilled' },
            }),
          );
          const letter = await timed('letter', () =>
            call(service.base, token, `/v1/privacy-requests/${request.id}/letter?lang=nl`),
          );
          totals.push((performance.now() - start) / 1000);
          const missing = seqs.filter((seq) => !letter.text.includes(String(seq)));
          if (missing.length) throw new Error(`the letter does not name deletion-log seqs ${missing.join(', ')}`);
        }
        if (service.requestLines() === 0) throw new Error('the service wrote no request log line');
      } finally {
        await service.stop();
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const rows: ResultRow[] = [
        rowFromRuns({
          name: `privacy case: register, search, export, erase ${k.subject}, close, letter (1 subject among ${k.rows.toLocaleString('en')}, sqlite + fs)`,
          unit: 's',
          samples: totals,
          target: '≤ 60 s',
          note:
            `median per step: ${STEPS.map((s) => `${s} ${median(steps[s]).toFixed(2)} s`).join(', ')}; ` +
            `zip ${(zipBytes / 1024 / 1024).toFixed(1)} MiB; service: ${service.entry}, log level info`,
        }),
      ];
      return rows;
    } finally {
      await store.close();
      await db.close();
    }
  },
};
