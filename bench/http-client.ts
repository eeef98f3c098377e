/** Measuring helpers shared by the HTTP benchmarks. */
import http from 'node:http';

export { percentile } from './spread.js';

/** GET with a keep-alive agent (lighter than fetch, so the client adds little): status and body length. */
export function httpGet(agent: http.Agent, url: string, headers: Record<string, string>): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
