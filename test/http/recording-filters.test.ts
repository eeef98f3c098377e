/**
 * `GET /v1/recording-filters`: the queues and agents the recordings list offers as filter values,
 * only those of recordings the caller may see, agents with the display name of the user bound to
 * them (users.agent_id) where there is one.
 */
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import type { Clock } from '../../src/clock.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecordingOverrides } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOUR = 3_600_000;
const fsStore = storeBackends.find((b) => b.name === 'fs')!;

for (const dbBackend of dbBackends) {
  describe(`recording filter values (${dbBackend.name})`, function () {
    this.timeout(60_000);
    let testDb: TestDb;
    let testStore: TestStore;
    let app: TestApp;
    before(async () => {
      testDb = await dbBackend.create();
      testStore = await fsStore.create();
      app = await startTestApp({ db: testDb.db, store: testStore.store, clock: createManualClock(NOW) as Clock });
    });
    after(async () => {
      await app.close();
      await testStore.dispose();
      await testDb.dispose();
    });
    const record = (overrides: StoredRecordingOverrides) =>
      createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { started_at: NOW - HOUR, expires_at: NOW + 20 * 24 * HOUR, writeObjects: false, ...overrides },
      });
    const get = async (token: string, query = '') => {
      const res = await fetch(`${app.url}/v1/recording-filters${query}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    it('when a trainer asks, then the queues and agents of the recordings they may see come sorted case-insensitively, agents with display names where a user is bound to them', async () => {
      await record({ queue: 'billing', agent_id: 'agent-7' });
      await record({ queue: 'billing', agent_id: 'agent-7' });
      await record({ queue: 'Betalingen', agent_id: 'Agent-2' });
      await record({ queue: 'sales', agent_id: 'agent-9' });
      await record({ queue: 'billing', agent_id: 'agent-gone', expires_at: NOW - 1000 });
      await record({ queue: 'billing', agent_id: null });
      const bound = await createTestUser(testDb.db, { role: 'trainer' });
      await testDb.db.knex('users').where({ username: bound.user.username }).update({
        agent_id: 'agent-7',
        display_name: 'Sanne de Vries',
      });
      const scoped = await createTestUser(testDb.db, { role: 'trainer', queues: ['billing', 'Betalingen'] });
      const { status, body } = await get(scoped.token);
      expect(status).to.equal(200);
      expect(body).to.deep.equal({
        queues: ['Betalingen', 'billing'],
        agents: [
          { agentId: 'Agent-2', displayName: null },
          { agentId: 'agent-7', displayName: 'Sanne de Vries' },
        ],
      });
      const admin = await createTestUser(testDb.db, { role: 'admin' });
      const all = await get(admin.token);
      expect(all.body.queues).to.deep.equal(['Betalingen', 'billing', 'sales']);
      expect((all.body.agents as { agentId: string }[]).map((a) => a.agentId)).to.deep.equal([
        'Agent-2',
        'agent-7',
        'agent-9',
      ]);
    });

    it('when the query carries a parameter, then 400 invalid_query', async () => {
      const { token } = await createTestUser(testDb.db, { role: 'trainer' });
      const { status, body } = await get(token, '?queue=x');
      expect(status).to.equal(400);
      expect(body.code).to.equal('invalid_query');
    });
  });
}
