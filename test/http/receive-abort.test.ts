/**
 * receiveUpload on a real socket, without the minimum body rate: its abort signal (the
 * shutdown's, the client's disconnect) must end the read at once even while a stalled
 * client sends nothing, on every Node version the service runs on (Node 24's pipeline
 * waits for the pending read of an async iterator; a shutdown then hung until its grace ran out).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { receiveUpload } from '../../src/ingest/receive.js';
import { tempDir } from '../support/backends.js';
import { multipartParts } from '../support/upload.js';

class StopForTest extends Error {}

describe('receiving an upload body (node:http)', function () {
  this.timeout(30_000);
  let server: http.Server;
  let dir: string;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when the signal aborts while the client stalls half-way and no rate floor is set, then the read rejects at once', async () => {
    dir = tempDir('callrec-receive-');
    const controller = new AbortController();
    const outcome = new Promise<unknown>((resolve) => {
      server = http.createServer((req, res) => {
        receiveUpload(req, { dir, maxUploadBytes: 1 << 20, signal: controller.signal }).then(
          () => resolve('resolved'),
          (error: unknown) => resolve(error),
        );
        res.on('error', () => undefined);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const parts = multipartParts({ fields: { callId: 'stall' } });
    const client = http.request({
      port: (server.address() as AddressInfo).port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/',
      headers: { 'content-type': parts.contentType, 'transfer-encoding': 'chunked' },
    });
    client.on('error', () => undefined);
    client.write(Buffer.concat([parts.head, Buffer.alloc(4096, 0x7f)]));
    for (let i = 0; !fs.existsSync(`${dir}/original`); i++) {
      if (i > 200) throw new Error('the audio part never reached its file');
      await new Promise((r) => setTimeout(r, 25));
    }

    const reason = new StopForTest('stop');
    controller.abort(reason);
    const settled = await Promise.race([
      outcome,
      new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5_000)),
    ]);
    client.destroy();
    // Node 20's pipeline rejects with its own AbortError, Node 24 with the reason: either ends the read.
    expect(settled).to.be.instanceOf(Error);
  });
});
