/** Measuring helpers shared by the HTTP benchmarks. */
import http from 'node:http';

export { percentile } from './spread.js';

/** A request that sees no byte for this long fails the bench instead of hanging it. */
const IDLE_TIMEOUT_MS = 60_000;

/** GET with a keep-alive agent (lighter than fetch, so the client adds little): status and body length. */
export function httpGet(
  agent: http.Agent,
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.setTimeout(IDLE_TIMEOUT_MS, () =>
      req.destroy(new Error(`no answer from ${new URL(url).pathname} within ${IDLE_TIMEOUT_MS / 1000} s`)),
    );
    req.on('error', reject);
  });
}
