/**
 * The floor of the scorecards' answer, for the scorecards benchmark: a bare node:http server that answers every
 * `GET` with the answer of every agent's year, read from tables that already hold its figures, one row per agent,
 * per agent and section and per agent and week (bench/scorecards.ts writes them from the service's own answer),
 * as the service reads its roll-up: one statement each, an agent's weeks and sections sent by the database as one
 * JSON array per agent. It then assembles and serializes the same JSON and sends it. No summing, no routing,
 * authentication, authorization, request log or error handling beyond a 500: what any exact answer costs at
 * least once its figures are summed (a pre-summed answer at the answer's grain, i.e. a cache, which the service
 * must not keep).
 * Configured by CALLREC_* variables (the database) and argv: groupBy, from, to, timeZone of the answer's head;
 * prints `port=<n>` on stdout when listening.
 */
import http from 'node:http';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/db.js';
import { FLOOR_TABLES } from './scorecard-floor.js';

type Cell = string | number | null;

const [groupBy, from, to, timeZone] = process.argv.slice(2);
const db = createDb(loadConfig(process.env).db);
const knex = db.knex;
const pg = db.client === 'pg';

/** Per agent key, the JSON array of `columns` of `table`'s rows in their `pos` order. */
async function perAgent(table: string, columns: string[]): Promise<Map<string, Cell[][]>> {
  const list = columns.join(', ');
  const rows = (
    pg
      ? (await knex.raw(`SELECT k, json_agg(json_build_array(${list}) ORDER BY pos) AS l FROM ${table} GROUP BY k`))
          .rows
      : await knex.raw(
          `SELECT k, json_group_array(json_array(${list})) AS l FROM (SELECT * FROM ${table} ORDER BY k, pos) GROUP BY k`,
        )
  ) as Array<{ k: string; l: string | Cell[][] }>;
  return new Map(rows.map((r) => [r.k, typeof r.l === 'string' ? (JSON.parse(r.l) as Cell[][]) : r.l]));
}

async function answer(): Promise<string> {
  const items = (await knex(FLOOR_TABLES.items).select('k', 'name', 'n', 'avg').orderBy('pos')) as Array<{
    k: string;
    name: string | null;
    n: number;
    avg: number | null;
  }>;
  const sections = await perAgent(FLOOR_TABLES.sections, ['form_id', 'section', 'title', 'n', 'avg']);
  const weeks = await perAgent(FLOOR_TABLES.weeks, ['week', 'week_start', 'n', 'avg']);
  return JSON.stringify({
    groupBy,
    from,
    to,
    timeZone,
    items: items.map((i) => ({
      agentId: i.k,
      ...(i.name === null ? {} : { displayName: i.name }),
      evaluations: Number(i.n),
      averageScore: i.avg,
      sections: (sections.get(i.k) ?? []).map(([formId, section, title, n, avg]) => ({
        formId,
        section,
        ...(title === null ? {} : { title }),
        evaluations: Number(n),
        averageScore: avg,
      })),
      weeks: (weeks.get(i.k) ?? []).map(([week, weekStart, n, avg]) => ({
        week,
        weekStart,
        evaluations: Number(n),
        averageScore: avg,
      })),
    })),
  });
}

const server = http.createServer((_req, res) => {
  answer().then(
    (text) => res.writeHead(200, { 'content-type': 'application/json' }).end(text),
    () => res.writeHead(500).end(),
  );
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`port=${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void db.close().then(() => process.exit(0)));
});
