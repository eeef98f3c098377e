/**
 * The tables of the scorecards' floor (bench/scorecard-floor-server.ts): the figures of one answer of every
 * agent's scorecard, one row per agent, per agent and section and per agent and week, in the answer's order.
 */
import type { Knex } from 'knex';

export const FLOOR_TABLES = {
  items: 'bench_floor_items',
  sections: 'bench_floor_sections',
  weeks: 'bench_floor_weeks',
} as const;

export interface FloorAnswer {
  items: Array<{
    agentId: string;
    displayName?: string;
    evaluations: number;
    averageScore: number | null;
    sections: Array<{
      formId: string;
      section: string;
      title?: string;
      evaluations: number;
      averageScore: number | null;
    }>;
    weeks: Array<{ week: string; weekStart: string; evaluations: number; averageScore: number | null }>;
  }>;
}

/** (Re)creates the floor's tables holding `answer`'s figures (keyed by agent and position, as they are read). */
export async function writeFloorTables(knex: Knex, answer: FloorAnswer): Promise<void> {
  for (const table of Object.values(FLOOR_TABLES)) await knex.schema.dropTableIfExists(table);
  await knex.schema.createTable(FLOOR_TABLES.items, (t) => {
    t.string('k').primary();
    t.integer('pos').notNullable().index();
    t.string('name');
    t.integer('n').notNullable();
    t.double('avg');
  });
  await knex.schema.createTable(FLOOR_TABLES.sections, (t) => {
    t.string('k').notNullable();
    t.integer('pos').notNullable();
    t.string('form_id').notNullable();
    t.string('section').notNullable();
    t.string('title');
    t.integer('n').notNullable();
    t.double('avg');
    t.primary(['k', 'pos']);
  });
  await knex.schema.createTable(FLOOR_TABLES.weeks, (t) => {
    t.string('k').notNullable();
    t.integer('pos').notNullable();
    t.string('week').notNullable();
    t.string('week_start').notNullable();
    t.integer('n').notNullable();
    t.double('avg');
    t.primary(['k', 'pos']);
  });
  const items = answer.items.map((i, pos) => ({
    k: i.agentId,
    pos,
    name: i.displayName ?? null,
    n: i.evaluations,
    avg: i.averageScore,
  }));
  const sections = answer.items.flatMap((i) =>
    i.sections.map((s, pos) => ({
      k: i.agentId,
      pos,
      form_id: s.formId,
      section: s.section,
      title: s.title ?? null,
      n: s.evaluations,
      avg: s.averageScore,
    })),
  );
  const weeks = answer.items.flatMap((i) =>
    i.weeks.map((w, pos) => ({
      k: i.agentId,
      pos,
      week: w.week,
      week_start: w.weekStart,
      n: w.evaluations,
      avg: w.averageScore,
    })),
  );
  await knex.batchInsert(FLOOR_TABLES.items, items, 500);
  await knex.batchInsert(FLOOR_TABLES.sections, sections, 500);
  await knex.batchInsert(FLOOR_TABLES.weeks, weeks, 500);
}
