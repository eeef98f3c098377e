/**
 * Twilio callbacks in the real service (src/main.ts) with the import worker as a background
 * job: a signed callback is stored and deleted at the Twilio stand-in, `callrec imports list`
 * shows the job (and a failed one with its code, which `imports retry` puts back), and SIGTERM
 * still stops the service cleanly.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { createDb } from '../../src/db/db.js';
import { tempDir } from '../support/backends.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { startService } from '../support/main-process.js';
import { runCli } from '../support/process.js';
import { startTwilioStandin } from '../support/twilio-standin.js';

const HOOK = '/v1/hooks/twilio/recording-status';

/** A port free on 127.0.0.1 right now (the service prints its public URL, so it must know its port beforehand). */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Twilio callbacks in the running service', function () {
  this.timeout(180_000);

  it('when Twilio posts a callback while the service runs, then the worker stores it and deletes it at Twilio, imports list shows it, and SIGTERM exits 0', async () => {
    const dataDir = tempDir('callrec-twilio-service-');
    const standin = await startTwilioStandin();
    const port = await freePort();
    const PUBLIC_URL = `http://127.0.0.1:${port}`;
    const env = {
      CALLREC_PORT: String(port),
      CALLREC_DATA_DIR: dataDir,
      CALLREC_PUBLIC_URL: PUBLIC_URL,
      CALLREC_TWILIO_ACCOUNT_SID: standin.accountSid,
      CALLREC_TWILIO_AUTH_TOKEN: standin.authToken,
      CALLREC_TWILIO_API_BASE: standin.origin,
    };
    const service = startService(env);
    const db = createDb({ client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') });
    try {
      const url = await service.url(120_000);
      const good = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
      const gone = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
      standin.recordings.get(gone.recordingSid)!.mediaFaults.push(404);
      for (const sid of [good.recordingSid, gone.recordingSid]) {
        const params = standin.callback(sid);
        const res = await fetch(`${url}${HOOK}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': standin.sign(PUBLIC_URL + HOOK, params),
          },
          body: new URLSearchParams(params).toString(),
        });
        expect(res.status).to.equal(202);
      }
      const deadline = Date.now() + 60_000;
      let statuses: Array<{ recording_sid: string; status: string }> = [];
      while (Date.now() < deadline) {
        statuses = (await db.knex('twilio_import_jobs').select('recording_sid', 'status')) as typeof statuses;
        if (statuses.length === 2 && statuses.every((s) => s.status === 'done' || s.status === 'failed')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await db.knex('recordings').where({ source: 'twilio' }).pluck('call_id')).to.deep.equal([
        good.recordingSid,
      ]);
      expect(standin.recordings.has(good.recordingSid), 'deleted at Twilio').to.equal(false);

      const cliEnv = { CALLREC_DATA_DIR: dataDir };
      const listed = await runCli(cliEnv, 'imports', 'list', '--status', 'failed,done', '--json');
      expect(listed.code, listed.stderr).to.equal(0);
      const rows = listed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(rows.map((r) => [r.externalId, r.status, r.lastErrorCode]).sort()).to.deep.equal(
        [
          [good.recordingSid, 'done', null],
          [gone.recordingSid, 'failed', 'twilio_not_found'],
        ].sort(),
      );
      expect(rows.every((r) => r.adapter === 'twilio' && r.source === 'twilio')).to.equal(true);
      const table = await runCli(cliEnv, 'imports', 'list');
      expect(table.stdout).to.include(gone.recordingSid).and.not.include(good.recordingSid);

      const retried = await runCli(cliEnv, 'imports', 'retry', 'twilio', gone.recordingSid);
      expect(retried.code, retried.stderr).to.equal(0);
      expect(await db.knex('twilio_import_jobs').where({ recording_sid: gone.recordingSid }).first()).to.include({
        status: 'pending',
        attempts: 0,
      });
      expect((await runCli(cliEnv, 'imports', 'retry', 'twilio', good.recordingSid)).code, 'not failed').to.equal(1);

      service.child.kill('SIGTERM');
      expect(await service.exit).to.deep.equal({ code: 0, signal: null });
      expect(service.err()).to.not.include(standin.authToken);
    } finally {
      await service.kill();
      await db.close();
      await standin.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
