/**
 * A local stand-in for the Twilio REST endpoints the import worker uses, written from Twilio's
 * documentation (Recording resource, Call resource, HTTP basic auth), on 127.0.0.1:
 *
 *   GET    /2010-04-01/Accounts/<AC>/Recordings/<RE>[.wav|.mp3]  the media, audio/x-wav (the WAV as stored;
 *                                                                 `RequestedChannels` is recorded for assertions)
 *   GET    /2010-04-01/Accounts/<AC>/Recordings/<RE>.json        the Recording resource
 *   DELETE /2010-04-01/Accounts/<AC>/Recordings/<RE>.json        204; 404 once gone
 *   GET    /2010-04-01/Accounts/<AC>/Calls/<CA>.json             the Call resource (from, to, direction, …)
 *
 * Every request needs `Authorization: Basic base64(<AC>:<auth token>)` (else 401 with Twilio's
 * error body, code 20003) and the account in the path (else 404). Faults per recording:
 * `mediaFaults` (statuses answered to the next media GETs, or `stall`: headers and a few bytes,
 * then nothing), `deleteFaults` (statuses answered to the next DELETEs).
 *
 * `callback()` builds a recording status callback's form parameters as Twilio sends them, and
 * `sign()` signs them as Twilio documents (written here independently of src/).
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandinCall {
  from: string;
  to: string;
  direction: string;
}

export interface StandinRecording {
  callSid: string;
  wav: Buffer;
  channels: 1 | 2;
  startTime: number;
  durationS: number;
  /** Answered (in order) to the next media GETs instead of the audio. */
  mediaFaults: Array<number | 'stall'>;
  /** Answered (in order) to the next DELETEs instead of deleting. */
  deleteFaults: number[];
}

export interface StandinRequest {
  method: string;
  path: string;
  query: string;
  authorized: boolean;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
export const newSid = (prefix: 'AC' | 'CA' | 'RE') => `${prefix}${hex(16)}`;

/** RFC 2822 as Twilio writes dates: `Tue, 01 Dec 2026 14:03:07 +0000`. */
export function rfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

/** Twilio's documented scheme: URL + each POST parameter sorted by name as name + value; HMAC-SHA1; base64. */
export function signTwilio(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((text, name) => text + name + params[name], url);
  return createHmac('sha1', authToken).update(data).digest('base64');
}

export interface TwilioStandin {
  origin: string;
  accountSid: string;
  authToken: string;
  recordings: Map<string, StandinRecording>;
  calls: Map<string, StandinCall>;
  requests: StandinRequest[];
  /** Adds a recording (and its call) and returns its SIDs. */
  addRecording(options: {
    wav: Buffer;
    channels?: 1 | 2;
    call?: Partial<StandinCall>;
    startTime?: number;
    durationS?: number;
  }): { recordingSid: string; callSid: string };
  recordingUrl(recordingSid: string): string;
  /** The callback form parameters of a completed recording (overrides replace or add parameters). */
  callback(recordingSid: string, overrides?: Record<string, string>): Record<string, string>;
  sign(url: string, params: Record<string, string>): string;
  close(): Promise<void>;
}

export async function startTwilioStandin(): Promise<TwilioStandin> {
  const accountSid = newSid('AC');
  const authToken = hex(16);
  const recordings = new Map<string, StandinRecording>();
  const calls = new Map<string, StandinCall>();
  const requests: StandinRequest[] = [];
  const stalled = new Set<http.ServerResponse>();
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const notFound = (res: http.ServerResponse) =>
    json(res, 404, { code: 20404, message: 'The requested resource was not found', status: 404 });

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const authorized = req.headers.authorization === expectedAuth;
    requests.push({ method: req.method ?? '', path: url.pathname, query: url.search, authorized });
    if (!authorized) {
      res.setHeader('www-authenticate', 'Basic realm="Twilio API"');
      return json(res, 401, { code: 20003, message: 'Authenticate', status: 401 });
    }
    const prefix = `/2010-04-01/Accounts/${accountSid}/`;
    if (!url.pathname.startsWith(prefix)) return notFound(res);
    const rest = url.pathname.slice(prefix.length);
    const call = /^Calls\/(CA[0-9a-f]{32})\.json$/.exec(rest);
    if (call && req.method === 'GET') {
      const found = calls.get(call[1]!);
      if (!found) return notFound(res);
      return json(res, 200, {
        sid: call[1],
        account_sid: accountSid,
        from: found.from,
        to: found.to,
        direction: found.direction,
        status: 'completed',
        api_version: '2010-04-01',
      });
    }
    const recording = /^Recordings\/(RE[0-9a-f]{32})(\.wav|\.mp3|\.json)?$/.exec(rest);
    if (!recording) return notFound(res);
    const sid = recording[1]!;
    const found = recordings.get(sid);
    const ext = recording[2];
    if (req.method === 'DELETE' && ext === '.json') {
      if (!found) return notFound(res);
      const fault = found.deleteFaults.shift();
      if (fault !== undefined) return json(res, fault, { code: 20500, message: 'Internal error', status: fault });
      recordings.delete(sid);
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'GET') return json(res, 405, { code: 20004, message: 'Method not allowed', status: 405 });
    if (!found) return notFound(res);
    if (ext === '.json') {
      return json(res, 200, {
        sid,
        account_sid: accountSid,
        call_sid: found.callSid,
        channels: found.channels,
        duration: String(found.durationS),
        start_time: rfc2822(found.startTime),
        status: 'completed',
      });
    }
    const fault = found.mediaFaults.shift();
    if (fault === 'stall') {
      res.writeHead(200, { 'content-type': 'audio/x-wav' });
      res.write(found.wav.subarray(0, 64));
      stalled.add(res);
      return;
    }
    if (fault !== undefined) return json(res, fault, { code: 20500, message: 'Error', status: fault });
    res.writeHead(200, { 'content-type': 'audio/x-wav', 'content-length': String(found.wav.length) });
    res.end(found.wav);
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  const standin: TwilioStandin = {
    origin,
    accountSid,
    authToken,
    recordings,
    calls,
    requests,
    addRecording(options) {
      const recordingSid = newSid('RE');
      const callSid = newSid('CA');
      calls.set(callSid, {
        from: '+31201234567',
        to: '+31850001234',
        direction: 'inbound',
        ...options.call,
      });
      recordings.set(recordingSid, {
        callSid,
        wav: options.wav,
        channels: options.channels ?? 1,
        startTime: options.startTime ?? Date.now() - 120_000,
        durationS: options.durationS ?? 1,
        mediaFaults: [],
        deleteFaults: [],
      });
      return { recordingSid, callSid };
    },
    recordingUrl(recordingSid) {
      return `${origin}/2010-04-01/Accounts/${accountSid}/Recordings/${recordingSid}`;
    },
    callback(recordingSid, overrides = {}) {
      const found = recordings.get(recordingSid);
      return {
        AccountSid: accountSid,
        CallSid: found?.callSid ?? newSid('CA'),
        RecordingSid: recordingSid,
        RecordingUrl: standin.recordingUrl(recordingSid),
        RecordingStatus: 'completed',
        RecordingDuration: String(found?.durationS ?? 1),
        RecordingChannels: String(found?.channels ?? 1),
        RecordingStartTime: rfc2822(found?.startTime ?? Date.now() - 120_000),
        RecordingSource: 'StartCallRecordingAPI',
        RecordingTrack: 'both',
        ErrorCode: '0',
        ...overrides,
      };
    },
    sign(url, params) {
      return signTwilio(authToken, url, params);
    },
    async close() {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return standin;
}
