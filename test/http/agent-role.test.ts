/**
 * The `agent` role (#20): a user bound to an agent id, made through the user API and the CLI, who
 * may open only the calls of their own evaluations that reached them (submitted, acknowledged,
 * disputed; never drafts or calibration evaluations), on SQLite and PostgreSQL. The single
 * sign-on role map cannot grant it (config).
 */
import fs from 'node:fs';
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredEvaluation, createStoredForm } from '../support/evaluation-rows.js';
import type { EvaluationRow, StoredForm } from '../support/evaluation-rows.js';
import { runCli } from '../support/process.js';
import { createStoredRecording } from '../support/recordings.js';
import { createTestUser, signIn } from '../support/users.js';
import type { TestSession } from '../support/users.js';

const fsBackend = storeBackends.find((b) => b.name === 'fs')!;

for (const dbBackend of dbBackends) {
  describe(`agent role (${dbBackend.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let app: TestApp;
    let admin: TestSession;
    let form: StoredForm;

    const call = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
      fetch(`${app.url}${path}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    /** A stored call of `agentId` and, unless `evaluation` is null, an evaluation of it with these overrides. */
    async function callWithEvaluation(agentId: string, evaluation: Partial<EvaluationRow> | null = {}) {
      const rec = await createStoredRecording({
        db: tdb.db,
        store: tstore.store,
        overrides: {
          agent_id: agentId,
          caller_number: '+31612345678',
          waveform: JSON.stringify({ durationMs: 4000, channels: 1, peaks: [[0.1, 0.2]] }),
        },
      });
      const row =
        evaluation === null
          ? undefined
          : await createStoredEvaluation(tdb.db.knex, {
              form,
              overrides: { recording_id: rec.row.id, agent_id: agentId, ...evaluation },
            });
      return { rec, evaluation: row };
    }

    before(async () => {
      tdb = await dbBackend.create();
      tstore = await fsBackend.create();
      app = await startTestApp({ db: tdb.db, store: tstore.store, clock: createManualClock(Date.now()) });
      const created = await createTestUser(tdb.db, { role: 'admin' });
      admin = await signIn(app.url, created.user.username, created.password);
      form = await createStoredForm(tdb.db.knex);
    });
    after(async () => {
      await app?.close();
      await tstore?.dispose();
      await tdb?.dispose();
    });

    it('when an admin adds an agent with an agent id, then the user carries it, signs in as an agent and the session says which agent', async () => {
      const res = await call('POST', '/v1/users', admin.headers, {
        username: 'anna',
        role: 'agent',
        agentId: 'agent-17',
        displayName: 'Anna Jansen',
      });
      expect(res.status).to.equal(201);
      const body = (await res.json()) as { user: Record<string, unknown>; password: string };
      expect(body.user).to.include({
        username: 'anna',
        role: 'agent',
        agentId: 'agent-17',
        displayName: 'Anna Jansen',
      });
      expect(body.user.queues).to.equal(null);
      const anna = await signIn(app.url, 'anna', body.password);
      const me = (await (await call('GET', '/v1/session', anna.headers)).json()) as { user: Record<string, unknown> };
      expect(me.user).to.deep.equal({ username: 'anna', role: 'agent', queues: null, agentId: 'agent-17' });
      const list = (await (await call('GET', '/v1/users', admin.headers)).json()) as {
        items: Array<Record<string, unknown>>;
      };
      expect(list.items.find((u) => u.username === 'anna')).to.include({ agentId: 'agent-17' });
      expect(list.items.find((u) => u.username !== 'anna')).to.include({ agentId: null });
    });

    it('when an agent comes without an agent id, or another role with one, or the id is malformed, then 400 and no user', async () => {
      const attempts = [
        { username: 'no-id', role: 'agent' },
        { username: 'trainer-id', role: 'trainer', agentId: 'agent-1' },
        { username: 'auditor-id', role: 'auditor', agentId: 'agent-1' },
        { username: 'bad-id', role: 'agent', agentId: 'agent\n1' },
        { username: 'queues-agent', role: 'agent', agentId: 'agent-1', queues: ['sales'] },
      ];
      for (const body of attempts) {
        const res = await call('POST', '/v1/users', admin.headers, body);
        expect(res.status, body.username).to.equal(400);
        expect(((await res.json()) as { code: string }).code).to.equal('invalid_request');
        expect(await tdb.db.knex('users').where({ username: body.username }).first()).to.equal(undefined);
      }
    });

    it("when an admin changes an agent's agent id, then the agent sees the other agent's calls at the next request; an agent id for a trainer is 409", async () => {
      const { user, token } = await createTestUser(tdb.db, { role: 'agent', agentId: 'agent-a' });
      const other = await callWithEvaluation('agent-b');
      expect((await call('GET', `/v1/recordings/${other.rec.row.id}`, bearer(token))).status).to.equal(404);
      const res = await call('PATCH', `/v1/users/${user.username}`, admin.headers, { agentId: 'agent-b' });
      expect(res.status).to.equal(200);
      expect(((await res.json()) as { agentId: string }).agentId).to.equal('agent-b');
      expect((await call('GET', `/v1/recordings/${other.rec.row.id}`, bearer(token))).status).to.equal(200);
      const trainer = await createTestUser(tdb.db, { role: 'trainer' });
      const conflict = await call('PATCH', `/v1/users/${trainer.user.username}`, admin.headers, { agentId: 'x' });
      expect(conflict.status).to.equal(409);
      expect((await tdb.db.knex('users').where({ id: trainer.user.id }).first('agent_id')).agent_id).to.equal(null);
    });

    it('when an agent opens the call of their own submitted, acknowledged or disputed evaluation, then detail (numbers masked), audio and waveform answer 200', async () => {
      const { token } = await createTestUser(tdb.db, { role: 'agent', agentId: 'agent-own' });
      for (const status of ['submitted', 'acknowledged', 'disputed'] as const) {
        const { rec } = await callWithEvaluation('agent-own', { status });
        const detail = await call('GET', `/v1/recordings/${rec.row.id}`, bearer(token));
        expect(detail.status, status).to.equal(200);
        const body = (await detail.json()) as { callerNumber: string; caseReference: unknown };
        expect(body.callerNumber).to.not.equal('+31612345678').and.match(/\*/);
        expect(body.caseReference).to.equal(null);
        const audio = await call('GET', `/v1/recordings/${rec.row.id}/audio`, bearer(token));
        expect(Buffer.from(await audio.arrayBuffer()).equals(rec.playbackBody)).to.equal(true);
        expect(audio.status).to.equal(200);
        expect((await call('GET', `/v1/recordings/${rec.row.id}/waveform`, bearer(token))).status).to.equal(200);
      }
    });

    it("when an agent asks for a call of a draft, a calibration evaluation, another agent's evaluation or no evaluation, then 404 on detail, audio and waveform", async () => {
      const { token } = await createTestUser(tdb.db, { role: 'agent', agentId: 'agent-x' });
      const cases = {
        draft: await callWithEvaluation('agent-x', { status: 'draft' }),
        calibration: await callWithEvaluation('agent-x', { calibration: true }),
        otherAgent: await callWithEvaluation('agent-y'),
        // The call is theirs (the recording says so), but nobody evaluated it.
        notEvaluated: await callWithEvaluation('agent-x', null),
      };
      for (const [name, { rec }] of Object.entries(cases)) {
        for (const suffix of ['', '/audio', '/waveform']) {
          const res = await call('GET', `/v1/recordings/${rec.row.id}${suffix}`, bearer(token));
          expect(res.status, `${name}${suffix}`).to.equal(404);
          expect(((await res.json()) as { code: string }).code).to.equal('not_found');
        }
      }
    });

    it('when an agent asks for the recording list or the notes of their own evaluated call, then 403', async () => {
      const { token } = await createTestUser(tdb.db, { role: 'agent', agentId: 'agent-n' });
      const { rec } = await callWithEvaluation('agent-n');
      expect((await call('GET', '/v1/recordings', bearer(token))).status).to.equal(403);
      expect((await call('GET', `/v1/recordings/${rec.row.id}/notes`, bearer(token))).status).to.equal(403);
      const note = await call('POST', `/v1/recordings/${rec.row.id}/notes`, bearer(token), { offsetMs: 0, text: 'x' });
      expect(note.status).to.equal(403);
    });

    it('when an agent lists and reads evaluations, then only their own that reached them: no drafts, no calibration, no other agent (404)', async () => {
      const { token } = await createTestUser(tdb.db, { role: 'agent', agentId: 'agent-r' });
      const own = await callWithEvaluation('agent-r', { status: 'acknowledged' });
      const draft = await callWithEvaluation('agent-r', { status: 'draft' });
      const calibration = await callWithEvaluation('agent-r', { calibration: true });
      const other = await callWithEvaluation('agent-s');
      const list = await call('GET', '/v1/evaluations', bearer(token));
      expect(list.status).to.equal(200);
      const ids = ((await list.json()) as { items: Array<{ id: string }> }).items.map((i) => i.id);
      expect(ids).to.deep.equal([own.evaluation!.id]);
      // Asking for another agent's evaluations finds none.
      const asked = await call('GET', '/v1/evaluations?agentId=agent-s', bearer(token));
      expect(((await asked.json()) as { items: unknown[] }).items).to.deep.equal([]);
      expect((await call('GET', `/v1/evaluations/${own.evaluation!.id}`, bearer(token))).status).to.equal(200);
      for (const hidden of [draft, calibration, other]) {
        expect((await call('GET', `/v1/evaluations/${hidden.evaluation!.id}`, bearer(token))).status).to.equal(404);
      }
      const ofCall = await call('GET', `/v1/recordings/${own.rec.row.id}/evaluations`, bearer(token));
      expect(((await ofCall.json()) as { items: Array<{ id: string }> }).items.map((i) => i.id)).to.deep.equal([
        own.evaluation!.id,
      ]);
      expect((await call('GET', `/v1/recordings/${other.rec.row.id}/evaluations`, bearer(token))).status).to.equal(404);
    });

    it("when an agent acknowledges or disputes their own submitted evaluation, then it is answered once; another agent's is 404", async () => {
      const { token } = await createTestUser(tdb.db, { role: 'agent', agentId: 'agent-t' });
      const first = await callWithEvaluation('agent-t');
      const second = await callWithEvaluation('agent-t');
      const other = await callWithEvaluation('agent-u');
      const ack = await call('POST', `/v1/evaluations/${first.evaluation!.id}/acknowledge`, bearer(token), {
        comment: 'thanks, noted',
      });
      expect(ack.status).to.equal(200);
      expect(await ack.json()).to.include({ status: 'acknowledged', agentComment: 'thanks, noted' });
      const again = await call('POST', `/v1/evaluations/${first.evaluation!.id}/dispute`, bearer(token), {
        comment: 'changed my mind',
      });
      expect(again.status).to.equal(409);
      const dispute = await call('POST', `/v1/evaluations/${second.evaluation!.id}/dispute`, bearer(token), {
        comment: 'the caller hung up, not me',
      });
      expect(dispute.status).to.equal(200);
      expect(((await dispute.json()) as { status: string }).status).to.equal('disputed');
      const foreign = await call('POST', `/v1/evaluations/${other.evaluation!.id}/acknowledge`, bearer(token), {});
      expect(foreign.status).to.equal(404);
      const row = await tdb.db.knex('evaluations').where({ id: other.evaluation!.id }).first('status');
      expect(row.status).to.equal('submitted');
    });

    it('when the evaluation of a call is deleted, then its agent no longer opens the call', async () => {
      const { token } = await createTestUser(tdb.db, { role: 'agent', agentId: 'agent-d' });
      const { rec, evaluation } = await callWithEvaluation('agent-d');
      expect((await call('GET', `/v1/recordings/${rec.row.id}`, bearer(token))).status).to.equal(200);
      await tdb.db.knex('evaluation_section_scores').where({ evaluation_id: evaluation!.id }).delete();
      await tdb.db.knex('evaluations').where({ id: evaluation!.id }).delete();
      expect((await call('GET', `/v1/recordings/${rec.row.id}`, bearer(token))).status).to.equal(404);
    });
  });

  describe(`callrec user add --role agent (${dbBackend.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let dataDir: string;
    const dbUrl = () => (tdb.config.client === 'pg' ? tdb.config.url : `sqlite:${tdb.config.filename}`);
    const cli = (...args: string[]) => runCli({ CALLREC_DB_URL: dbUrl(), CALLREC_DATA_DIR: dataDir }, ...args);

    before(async () => {
      tdb = await dbBackend.create();
      dataDir = tempDir('callrec-cli-agent-');
    });
    after(async () => {
      await tdb?.dispose();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('when an agent is added with --agent-id, then the row carries it and `user list` shows it; without it, exit 1 and no row', async () => {
      const added = await cli('user', 'add', 'bert', '--role', 'agent', '--agent-id', 'agent-42');
      expect(added.code).to.equal(0);
      expect(added.stdout).to.match(/^[A-Za-z0-9_-]{20}\n$/);
      expect(added.stderr).to.include('agent agent-42');
      expect((await tdb.db.knex('users').where({ username: 'bert' }).first('agent_id')).agent_id).to.equal('agent-42');
      const list = await cli('user', 'list');
      expect(list.stdout).to.include('"agentId":"agent-42"');
      const missing = await cli('user', 'add', 'carl', '--role', 'agent');
      expect(missing.code).to.equal(1);
      expect(missing.stdout).to.equal('');
      expect(missing.stderr).to.include('agent id');
      const wrongRole = await cli('user', 'add', 'dora', '--role', 'trainer', '--agent-id', 'agent-1');
      expect(wrongRole.code).to.equal(1);
      for (const name of ['carl', 'dora'])
        expect(await tdb.db.knex('users').where({ username: name }).first()).to.equal(undefined);
    });
  });
}

describe('agent role: configuration', () => {
  it('when the single sign-on role map names the agent role, then the start is refused naming the variable', () => {
    let error: unknown;
    try {
      loadConfig({ CALLREC_OIDC_ROLE_MAP: 'g-agents:agent' });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect(String((error as Error).message))
      .to.include('CALLREC_OIDC_ROLE_MAP')
      .and.include('agents are local users');
  });

  it('when agents are listed among the roles that need a second factor, then the config takes it; the default stays privacy,admin', () => {
    expect(loadConfig({ CALLREC_MFA_REQUIRED_ROLES: 'agent,admin' }).mfa.requiredRoles).to.deep.equal([
      'agent',
      'admin',
    ]);
    expect(loadConfig({}).mfa.requiredRoles).to.deep.equal(['privacy', 'admin']);
  });
});
