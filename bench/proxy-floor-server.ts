/**
 * The floor of any HTTP API in front of the store, for the playback benchmark: a bare
 * node:http server that answers every `GET /<url-encoded key>` with `Range: bytes=a-b` by
 * piping `store.get` of that key with that range: the same store read the API does. No
 * routing, no authentication, no authorization, no access or request log, no error handling
 * beyond a 500.
 * Configured by CALLREC_* variables; prints `port=<n>` on stdout when listening.
 */
import http from 'node:http';
import { pipeline } from 'node:stream/promises';
import { loadConfig } from '../src/config.js';
import { createObjectStore } from '../src/storage/create-store.js';

const store = await createObjectStore(loadConfig(process.env).store);
const server = http.createServer((req, res) => {
  const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  if (!range) {
    res.writeHead(400).end();
    return;
  }
  const key = decodeURIComponent((req.url ?? '/').slice(1));
  void (async () => {
    const got = await store.get(key, { range: { start: Number(range[1]), end: Number(range[2]) } });
    res.writeHead(206, {
      'content-type': got.info.contentType,
      'content-length': String(got.range!.end - got.range!.start + 1),
    });
    await pipeline(got.body, res);
  })().catch(() => {
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`port=${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void store.close().then(() => process.exit(0)));
});
