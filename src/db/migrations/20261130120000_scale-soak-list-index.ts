/**
 * The recordings list (`searchRecordings`: status = 'stored', newest first by (started_at, id))
 * read from an index in its own order. Without it SQLite, which keeps no statistics unless
 * ANALYZE runs, took the (status, expires_at) index for the status equality, read every stored
 * row and sorted them all for each page (seconds at 3 M rows; found by `npm run bench scale`).
 * With these both databases walk an index backwards and stop after one page: (status,
 * started_at, id) for the list and its range, cursor, direction and duration filters; with
 * the agent or the queue first after status for those filters (and a trainer's single queue),
 * so that a rare agent or queue is not looked for along the whole table.
 */
import type { Knex } from 'knex';

/** Each serves the list's order after its equalities; status leads, as every list query has it. */
const INDEXES: Record<string, string[]> = {
  recordings_status_started_at_id_index: ['status', 'started_at', 'id'],
  recordings_status_agent_started_at_id_index: ['status', 'agent_id', 'started_at', 'id'],
  recordings_status_queue_started_at_id_index: ['status', 'queue', 'started_at', 'id'],
  // The sweeper's backlog gauges (`retentionBacklog`: count and oldest of the due rows, held or
  // not) from the index alone, without reading each due row for its legal_hold.
  recordings_legal_hold_expires_at_index: ['legal_hold', 'expires_at'],
};

/**
 * SQLite: the planner's statistics for `recordings` (sqlite_stat1: rows, then the average rows
 * per value of each leading column prefix), written by hand for a large table, as SQLite's
 * documentation allows for a fixed plan (https://sqlite.org/optoverview.html#manctrl). Without
 * statistics SQLite guesses 10 rows per equality and took (status, started_at) over
 * (status, agent_id, started_at) for an agent's calls in a date range: the whole range read for
 * one agent. A status is taken to match 2 % of the rows (20000): the sweeper's `status =
 * 'deleting'` branch (a few rows) then stays an index search; with a measured 50 % SQLite read
 * the whole expiry index for it. The list's order comes from its index either way. A later
 * ANALYZE would replace these figures. Index names of the initial migration are knex's defaults.
 */
const SQLITE_STATS: Record<string, string> = {
  sqlite_autoindex_recordings_1: '1000000 1',
  recordings_source_call_id_unique: '1000000 300000 1',
  recordings_expires_at_index: '1000000 1',
  recordings_status_expires_at_index: '1000000 20000 1',
  recordings_started_at_index: '1000000 1',
  recordings_queue_started_at_index: '1000000 20000 1',
  recordings_agent_id_started_at_index: '1000000 2000 1',
  recordings_caller_number_index: '1000000 5',
  recordings_callee_number_index: '1000000 5',
  recordings_status_started_at_id_index: '1000000 20000 1 1',
  recordings_status_agent_started_at_id_index: '1000000 20000 2000 1 1',
  recordings_status_queue_started_at_id_index: '1000000 20000 20000 1 1',
  recordings_legal_hold_expires_at_index: '1000000 500000 1',
};

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('recordings', (t) => {
    for (const [name, columns] of Object.entries(INDEXES)) t.index(columns, name);
  });
  if (knex.client.config.client === 'pg') return;
  // Any ANALYZE creates sqlite_stat1; this one reads only the small schema table.
  await knex.raw('ANALYZE sqlite_schema');
  await knex.raw("DELETE FROM sqlite_stat1 WHERE tbl = 'recordings'");
  for (const [idx, stat] of Object.entries(SQLITE_STATS)) {
    await knex.raw("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('recordings', ?, ?)", [idx, stat]);
  }
  // Loads the statistics into this connection; others read them when they open.
  await knex.raw('ANALYZE sqlite_schema');
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') await knex.raw("DELETE FROM sqlite_stat1 WHERE tbl = 'recordings'");
  await knex.schema.alterTable('recordings', (t) => {
    for (const [name, columns] of Object.entries(INDEXES)) t.dropIndex(columns, name);
  });
}
