/**
 * Scorecards (#20, "Figures"): `GET /v1/scorecards` against one year of evaluations, on SQLite and
 * on PostgreSQL, served by the production service (bench/service.ts: its own process, log level
 * info with the request log, background jobs).
 *
 * Seeded inside the database (rows written with knex in batches, columns as the migration fixes
 * them; the scorecards' roll-up is built first, as the service's start builds it, so its triggers follow every
 * row the seeding writes): BENCH_SCORECARD_AGENTS agents (default 500, each with a user of role agent and a display
 * name, each in one of 10 queues), BENCH_SCORECARD_EVALUATIONS evaluations (default 200,000) of calls
 * spread at random (seeded) over the last 365 days, against 3 forms of 2–4 sections (one section-score
 * row per section: about 600,000 rows); 97% submitted/acknowledged/disputed, 2% drafts, 1% calibration.
 *
 * Request shapes, each timed from the request to the last byte of the answer, BENCH_SCORECARD_REQUESTS
 * per run (default 21) after 3 unmeasured ones; a run's sample is the median of its requests; the row is
 * min / median / max over the runs (BENCH_RUNS):
 *   - admin, groupBy=agent, the whole year: every agent's scorecard (the issue's figure, target p50 ≤ 50 ms)
 *   - trainer limited to 2 of the 10 queues, groupBy=agent, the whole year
 *   - an agent's own scorecard, the whole year
 *   - admin, groupBy=queue, the last 13 weeks
 * Every answer is checked (the total number of evaluations it counts) before the figures are kept.
 * The issue's figure is also timed, request by request in turn, against its floor (bench/scorecard-floor-server.ts):
 * the same answer's figures read already summed, one row per agent, agent-section and agent-week, from the same
 * database through the same driver, serialized and sent by bare node:http; its answer must equal the service's.
 * That is the least any exact answer costs once the summing is done, so the row's ratio says what is left for
 * summing, authorization and the service's own work.
 *
 * Knobs: BENCH_SCORECARD_AGENTS, BENCH_SCORECARD_EVALUATIONS, BENCH_SCORECARD_REQUESTS,
 * BENCH_SCORECARD_DBS (comma list of sqlite, postgres; default both).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Knex } from 'knex';
import { ulid } from 'ulid';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/db.js';
import { createLogger } from '../src/logger.js';
import { ensureScorecardRollup } from '../src/training/index.js';
import type { Db } from '../src/db/db.js';
import { createStoredForm } from '../test/support/evaluation-rows.js';
import type { EvaluationRow, StoredForm } from '../test/support/evaluation-rows.js';
import { createTestUser } from '../test/support/users.js';
import { pgDatabase } from './retention.js';
import { FLOOR_TABLES, writeFloorTables } from './scorecard-floor.js';
import type { FloorAnswer } from './scorecard-floor.js';
import { startServerProcess } from './server-process.js';
import type { ServerProcess } from './server-process.js';
import { startService } from './service.js';
import { intKnob, listKnob, rowFromRuns, seededRandom } from './spread.js';
import type { Bench, BenchContext, ResultRow } from './types.js';

const DAY_MS = 86_400_000;
const QUEUES = Array.from({ length: 10 }, (_, i) => `queue-${i}`);
const DBS = ['sqlite', 'postgres'] as const;
const WARMUP = 3;
const TARGET = '≤ 50 ms';

interface Shape {
  name: string;
  who: 'admin' | 'trainer' | 'agent';
  query: string;
  target?: string;
  /** Whether this shape is also timed against the floor (bench/scorecard-floor-server.ts) of its own answer. */
  floor?: boolean;
}

interface Seeded {
  /** Counted (non-draft, non-calibration) evaluations in the last 365 days, in total and per queue. */
  counted: number;
  perQueue: Map<string, number>;
  perAgent: Map<string, number>;
  sectionRows: number;
}

/** Writes the forms, agents and evaluations; returns what the answers must count. */
export async function seed(
  ctx: BenchContext,
  knex: Knex,
  options: { agents: number; evaluations: number; now: number; label: string },
): Promise<Seeded> {
  const random = seededRandom(ctx.seed);
  const forms: StoredForm[] = [
    await createStoredForm(knex, { name: 'Inbound service', sections: ['Opening', 'Needs', 'Solution', 'Closing'] }),
    await createStoredForm(knex, { name: 'Outbound sales', sections: ['Opening', 'Pitch', 'Closing'] }),
    await createStoredForm(knex, { name: 'Complaints', sections: ['Empathy', 'Resolution'] }),
  ];
  const agentRows = Array.from({ length: options.agents }, (_, i) => ({
    id: ulid(),
    username: `bench-agent-${i}`,
    role: 'agent',
    password_hash: '!bench',
    queues: null,
    disabled: false,
    created_at: options.now,
    display_name: `Agent ${i}`,
    agent_id: `agent-${i}`,
  }));
  await knex.batchInsert('users', agentRows, 500);
  const seeded: Seeded = { counted: 0, perQueue: new Map(), perAgent: new Map(), sectionRows: 0 };
  const BATCH = 1000;
  for (let done = 0; done < options.evaluations; done += BATCH) {
    const rows: EvaluationRow[] = [];
    const sections: Array<{ evaluation_id: string; section_id: string; score: number }> = [];
    for (let i = done; i < Math.min(done + BATCH, options.evaluations); i++) {
      const agent = random.int(0, options.agents);
      const queue = QUEUES[agent % QUEUES.length]!;
      const form = forms[random.int(0, forms.length)]!;
      const roll = random.next();
      const status = roll < 0.02 ? 'draft' : roll < 0.12 ? 'acknowledged' : roll < 0.15 ? 'disputed' : 'submitted';
      const calibration = roll >= 0.15 && roll < 0.16;
      const callStartedAt = options.now - 1 - random.int(0, 365 * DAY_MS);
      const createdAt = callStartedAt + 3_600_000;
      const score = status === 'draft' ? null : random.int(0, 101);
      const id = ulid(createdAt);
      rows.push({
        id,
        recording_id: ulid(callStartedAt),
        form_id: form.id,
        form_version: form.version,
        evaluator: `trainer-${random.int(0, 20)}`,
        agent_id: `agent-${agent}`,
        queue,
        call_started_at: callStartedAt,
        call_duration_ms: random.int(30_000, 900_000),
        status,
        calibration,
        answers: JSON.stringify(Object.fromEntries(form.sections.map((_, s) => [`q${s}`, 'yes']))),
        comments: null,
        score,
        agent_comment: null,
        created_at: createdAt,
        updated_at: createdAt,
        submitted_at: status === 'draft' ? null : createdAt,
        responded_at: null,
        expires_at: createdAt + 365 * DAY_MS,
      });
      if (score !== null) {
        form.sections.forEach((_, s) =>
          sections.push({ evaluation_id: id, section_id: String(s), score: random.int(0, 101) }),
        );
      }
      if (status !== 'draft' && !calibration) {
        seeded.counted += 1;
        seeded.sectionRows += form.sections.length;
        seeded.perQueue.set(queue, (seeded.perQueue.get(queue) ?? 0) + 1);
        seeded.perAgent.set(`agent-${agent}`, (seeded.perAgent.get(`agent-${agent}`) ?? 0) + 1);
      }
    }
    await knex.transaction(async (trx) => {
      await trx.batchInsert('evaluations', rows, 250);
      await trx.batchInsert('evaluation_section_scores', sections, 500);
    });
    ctx.progress(`scorecards (${options.label}): seeded ${done + rows.length}/${options.evaluations}`);
  }
  return seeded;
}

async function timedGet(base: string, token: string, pathAndQuery: string): Promise<{ ms: number; text: string }> {
  const start = performance.now();
  const res = await fetch(`${base}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`GET ${pathAndQuery} answered ${res.status}: ${text.slice(0, 300)}`);
  return { ms, text };
}

const medianOf = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const FLOOR_NAME =
  'floor: the same answer read pre-summed (one row per agent, agent-section and agent-week), serialized and sent by bare node:http';

/**
 * Writes the figures of `answer` into the floor's tables and starts bench/scorecard-floor-server.ts on them; it must
 * answer exactly the service's answer, else the bench stops.
 */
async function startFloor(options: { db: Db; env: Record<string, string>; answer: string }): Promise<ServerProcess> {
  const parsed = JSON.parse(options.answer) as FloorAnswer & {
    groupBy: string;
    from: string;
    to: string;
    timeZone: string;
  };
  await writeFloorTables(options.db.knex, parsed);
  if (options.db.client === 'pg') await options.db.knex.raw(`VACUUM ANALYZE ${Object.values(FLOOR_TABLES).join(', ')}`);
  const floor = await startServerProcess(options.env, {
    script: 'scorecard-floor-server.ts',
    args: [parsed.groupBy, parsed.from, parsed.to, parsed.timeZone],
  });
  try {
    for (let w = 0; w < WARMUP; w++) {
      const { text } = await timedGet(floor.base, '', '/');
      assert.deepStrictEqual(JSON.parse(text), parsed, 'the floor answers what the service answers');
    }
  } catch (error) {
    await floor.stop();
    throw error;
  }
  return floor;
}

const countOf = (text: string) =>
  (JSON.parse(text) as { items: Array<{ evaluations: number }> }).items.reduce((n, i) => n + i.evaluations, 0);

async function scenario(
  ctx: BenchContext,
  options: { name: (typeof DBS)[number]; db: Db; env: Record<string, string>; agents: number; evaluations: number },
  requests: number,
): Promise<ResultRow[]> {
  const now = Date.now();
  await options.db.migrate();
  // As the service's start does (src/main.ts): the roll-up in the configured zone, so that the seeding's writes go
  // through its triggers as production's writes do; the service's own start then finds it in that zone.
  await ensureScorecardRollup({
    db: options.db,
    config: loadConfig(options.env),
    logger: createLogger({ level: 'warn' }),
  });
  const seeded = await seed(ctx, options.db.knex, {
    agents: options.agents,
    evaluations: options.evaluations,
    now,
    label: options.name,
  });
  const tokens = {
    admin: (await createTestUser(options.db, { role: 'admin' })).token,
    trainer: (await createTestUser(options.db, { role: 'trainer', queues: QUEUES.slice(0, 2) })).token,
    agent: (await createTestUser(options.db, { role: 'agent', agentId: 'agent-7' })).token,
  };
  // PostgreSQL as autovacuum leaves it; SQLite is not analysed (the service never runs ANALYZE, as bench/scale.ts).
  if (options.db.client === 'pg') {
    await options.db.knex.raw(
      'VACUUM ANALYZE evaluations, evaluation_section_scores, scorecard_weeks, scorecard_sections',
    );
  }
  const service = await startService(ctx, options.env, { name: `scorecards-${options.name}` });
  const rows: ResultRow[] = [];
  try {
    const year = `from=${new Date(now - 365 * DAY_MS).toISOString()}&to=${new Date(now).toISOString()}`;
    const quarterFrom = now - 13 * 7 * DAY_MS;
    const shapes: Array<Shape & { expect: number | undefined }> = [
      {
        name: `every agent's scorecard, 1 year (admin, groupBy=agent)`,
        who: 'admin',
        query: `groupBy=agent&${year}`,
        target: TARGET,
        floor: true,
        expect: seeded.counted,
      },
      {
        name: `trainer of 2 of 10 queues, 1 year (groupBy=agent)`,
        who: 'trainer',
        query: `groupBy=agent&${year}`,
        expect: QUEUES.slice(0, 2).reduce((n, q) => n + (seeded.perQueue.get(q) ?? 0), 0),
      },
      {
        name: `one agent's own scorecard, 1 year`,
        who: 'agent',
        query: year,
        expect: seeded.perAgent.get('agent-7') ?? 0,
      },
      {
        name: `per queue, last 13 weeks (admin, groupBy=queue)`,
        who: 'admin',
        query: `groupBy=queue&from=${new Date(quarterFrom).toISOString()}&to=${new Date(now).toISOString()}`,
        expect: undefined,
      },
    ];
    for (const [s, shape] of shapes.entries()) {
      const url = `/v1/scorecards?${shape.query.replace(/\+/g, '%2B')}`;
      const samples: number[] = [];
      let bytes = 0;
      let answer = '';
      for (let w = 0; w < WARMUP; w++) {
        const { text } = await timedGet(service.base, tokens[shape.who], url);
        if (shape.expect !== undefined && countOf(text) !== shape.expect) {
          throw new Error(`${shape.name}: the answer counts ${countOf(text)} evaluations, not ${shape.expect}`);
        }
        bytes = text.length;
        answer = text;
      }
      const floor = shape.floor ? await startFloor({ db: options.db, env: options.env, answer }) : undefined;
      const floorSamples: number[] = [];
      try {
        for (let run = 0; run < ctx.runs; run++) {
          ctx.progress(
            `scorecards (${options.name}): ${shape.name}, run ${run + 1}`,
            (s + run / ctx.runs) / shapes.length,
          );
          const times: number[] = [];
          const floorTimes: number[] = [];
          for (let r = 0; r < requests; r++) {
            times.push((await timedGet(service.base, tokens[shape.who], url)).ms);
            if (floor) floorTimes.push((await timedGet(floor.base, '', '/')).ms);
          }
          samples.push(medianOf(times));
          if (floor) floorSamples.push(medianOf(floorTimes));
        }
      } finally {
        await floor?.stop();
      }
      rows.push(
        rowFromRuns({
          name: `scorecards: ${shape.name} (${options.name})`,
          unit: 'ms',
          samples,
          ...(floor ? { baseline: { name: FLOOR_NAME, samples: floorSamples } } : {}),
          ...(shape.target ? { target: shape.target } : {}),
          note:
            `each run: the median of ${requests} requests; ${seeded.counted.toLocaleString('en')} counted evaluations ` +
            `(${options.evaluations.toLocaleString('en')} rows, ${seeded.sectionRows.toLocaleString('en')} section ` +
            `scores), ${options.agents} agents; answer ${(bytes / 1024).toFixed(0)} KiB; service: ${service.entry}`,
        }),
      );
    }
    if (service.requestLines() === 0) throw new Error('the service wrote no request log line');
  } finally {
    await service.stop();
  }
  return rows;
}

export const scorecardsBench: Bench = {
  name: 'scorecards',
  async run(ctx) {
    const agents = intKnob(ctx.env, 'BENCH_SCORECARD_AGENTS', 500);
    const evaluations = intKnob(ctx.env, 'BENCH_SCORECARD_EVALUATIONS', 200_000);
    const requests = intKnob(ctx.env, 'BENCH_SCORECARD_REQUESTS', 21);
    const rows: ResultRow[] = [];
    for (const name of listKnob(ctx.env, 'BENCH_SCORECARD_DBS', DBS)) {
      const dataDir = path.join(ctx.tmpDir, `scorecards-${name}`);
      if (name === 'sqlite') {
        const env = { CALLREC_DATA_DIR: dataDir };
        const db = createDb(loadConfig(env).db);
        try {
          rows.push(...(await scenario(ctx, { name, db, env, agents, evaluations }, requests)));
        } finally {
          await db.close();
        }
      } else {
        const database = await pgDatabase(ctx.env, 'callrec_bench_scorecards');
        const url = database.config.client === 'pg' ? database.config.url : '';
        const env = { CALLREC_DATA_DIR: dataDir, CALLREC_DB_URL: url };
        const db = createDb(database.config);
        try {
          rows.push(...(await scenario(ctx, { name, db, env, agents, evaluations }, requests)));
        } finally {
          await db.close();
          await database.drop();
        }
      }
    }
    return rows;
  },
};
