/**
 * Reads of the S3 driver (see ./s3-store.ts): `get` (whole, or a range in one trip with a HEAD +
 * If-Match fallback), `stat` (HEAD) and `getTags`.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { assertValidKey } from './keys.js';
import { StoreUnavailableError, resolveRange } from './object-store.js';
import type {
  GetOptions,
  GetResult,
  ObjectInfo,
  RangeRequest,
  ServedRange,
  SignalOption,
  Tags,
} from './object-store.js';
import { infoOf, mapS3Error, sdkName, sdkStatus } from './s3-client.js';
import type { S3Context } from './s3-client.js';
import { abortError, throwIfAborted } from './store-helpers.js';

/** An aborted signal destroys the body (a client that went away stops the read). */
function tieToSignal(body: Readable, signal: AbortSignal | undefined): void {
  if (!signal) return;
  const onAbort = () => body.destroy(abortError(signal));
  if (signal.aborted) onAbort();
  else {
    signal.addEventListener('abort', onAbort, { once: true });
    body.once('close', () => signal.removeEventListener('abort', onAbort));
  }
}

/** `head` (the writes use it too), `get`, `stat` and `getTags` of an S3 store. */
export function s3Reads(ctx: S3Context) {
  const { client, Bucket, sendOpts } = ctx;

  /**
   * The fast path of a ranged get: GET with the request's Range as it is. Answers undefined
   * (nothing open) whenever the answer is not exactly the range `resolveRange` would serve,
   * or S3 refused the range (416): the caller then takes the HEAD + If-Match path, which
   * also produces the precise InvalidRangeError. Other failures throw as `get` does.
   */
  async function rangedGetInOneTrip(
    key: string,
    request: RangeRequest,
    signal?: AbortSignal,
  ): Promise<GetResult | undefined> {
    const header =
      'suffix' in request
        ? request.suffix > 0
          ? `bytes=-${request.suffix}`
          : undefined
        : request.end === undefined || request.end >= request.start
          ? `bytes=${request.start}-${request.end ?? ''}`
          : undefined;
    if (!header) return undefined;
    let out;
    try {
      out = await client.send(new GetObjectCommand({ Bucket, Key: key, Range: header }), sendOpts(signal));
    } catch (error) {
      if (sdkStatus(error) === 416 || sdkName(error) === 'InvalidRange') return undefined;
      throw mapS3Error(error, 'get', key);
    }
    const body = out.Body as Readable | undefined;
    const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(out.ContentRange ?? '');
    let range: ServedRange | undefined;
    if (served) {
      const [start, end, size] = [Number(served[1]), Number(served[2]), Number(served[3])];
      try {
        const expected = resolveRange(request, size);
        if (expected.start === start && expected.end === end) range = expected;
      } catch {
        range = undefined;
      }
      if (range && body) {
        tieToSignal(body, signal);
        return { body, info: infoOf(key, out, size), range };
      }
    }
    body?.destroy();
    return undefined;
  }

  async function head(key: string, signal?: AbortSignal): Promise<ObjectInfo> {
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket, Key: key }), sendOpts(signal));
      return infoOf(key, out, out.ContentLength ?? 0);
    } catch (error) {
      throw mapS3Error(error, 'head', key);
    }
  }

  return {
    head,
    async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
      assertValidKey(key);
      const { signal } = opts;
      throwIfAborted(signal);
      if (opts.range) {
        const direct = await rangedGetInOneTrip(key, opts.range, signal);
        if (direct) return direct;
      }
      for (let attempt = 0; ; attempt++) {
        let info: ObjectInfo | undefined;
        let range: { start: number; end: number } | undefined;
        if (opts.range) {
          info = await head(key, signal);
          range = resolveRange(opts.range, info.size);
        }
        let out;
        try {
          out = await client.send(
            new GetObjectCommand({
              Bucket,
              Key: key,
              ...(range && info ? { Range: `bytes=${range.start}-${range.end}`, IfMatch: info.etag } : {}),
            }),
            sendOpts(signal),
          );
        } catch (error) {
          // The object changed between HEAD and GET: start over once.
          if (range && (sdkStatus(error) === 412 || sdkName(error) === 'PreconditionFailed') && attempt === 0) continue;
          throw mapS3Error(error, 'get', key);
        }
        const body = out.Body as Readable | undefined;
        if (!body) throw new StoreUnavailableError('s3 store: get returned no body');
        tieToSignal(body, signal);
        info ??= infoOf(key, out, out.ContentLength ?? 0);
        return range ? { body, info, range } : { body, info };
      }
    },

    async stat(key: string, opts: SignalOption = {}): Promise<ObjectInfo> {
      assertValidKey(key);
      throwIfAborted(opts.signal);
      return head(key, opts.signal);
    },

    async getTags(key: string, opts: SignalOption = {}): Promise<Tags> {
      assertValidKey(key);
      throwIfAborted(opts.signal);
      try {
        const out = await client.send(new GetObjectTaggingCommand({ Bucket, Key: key }), sendOpts(opts.signal));
        const tags: Tags = {};
        for (const t of out.TagSet ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
        return tags;
      } catch (error) {
        throw mapS3Error(error, 'getTags', key);
      }
    },
  };
}
