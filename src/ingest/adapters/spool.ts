/**
 * Adapter: the spool folder (CALLREC_SPOOL_DIR), for PBXes and capture systems that write files
 * (Asterisk, FreeSWITCH, Oreka-style capture, an NFS share). A recording is a pair:
 * `<name>.<audio ext>` and `<name>.json`, the upload hook's text fields as one JSON object of
 * strings. The JSON is written last (or by rename): it says the audio is complete.
 *
 * Contract:
 * - Never reads a file still being written: a pair is taken only once both files looked the same
 *   (size and modification time) on two scans in a row, an interval apart. A batch longer than the
 *   interval scans again between two pairs, so a folder fed without pause keeps the ingest busy.
 * - Taking a pair renames its JSON into `.callrec/` (atomic; the claim). A claimed pair is
 *   ingested by the one pipeline (`ingestRecording`) under CALLREC_SPOOL_SOURCE; once stored (or
 *   found already stored: same source, callId and audio), its audio, then its claimed JSON are
 *   removed.
 * - A permanent refusal (a 4xx problem other than 408/429: bad metadata, undecodable audio,
 *   retention elapsed, another audio under the same callId, …) moves the pair to `failed/`
 *   beside `<name>.error.json` (the problem+json): first the error file, then the audio, then
 *   the JSON.
 * - A transient failure (store or database down, overloaded, a full disk) leaves the pair
 *   claimed and retries it after a backoff that doubles from the scan interval up to 5 minutes.
 * - Restart-safe, also after kill -9 at any step: claims in `.callrec/` are taken up again at
 *   the next start. Ingest is idempotent on (source, callId, audio), so a pair stored before the
 *   crash is answered as stored and removed: each recording is stored once, and no pair stays.
 *   A claim whose audio is gone was stored (audio removed, crash before the JSON) or refused
 *   (audio moved to `failed/`): its JSON is removed, or moved to `failed/` beside its audio.
 * - One service instance per spool folder.
 *
 * Logs never name a pair (PBXes may name files by caller number): the problem code and attempts only.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isRawFormatName, sameRawFormat } from '../../audio/index.js';
import type { RawFormatName } from '../../audio/index.js';
import { AppError, errors, isAppError } from '../../errors.js';
import { problemBody, toAppError } from '../../http/problem.js';
import type { AudioFile } from '../call-metadata.js';
import { ingestRecording } from '../ingest.js';
import { parseIngestMetadata } from '../metadata.js';
import type { IngestAdapter, IngestRuntime } from '../service.js';

export const SPOOL_CLAIM_DIR = '.callrec';
export const SPOOL_FAILED_DIR = 'failed';
/** The longest a metadata file may be. */
const MAX_JSON_BYTES = 64 * 1024;
const MAX_BACKOFF_MS = 5 * 60_000;

/** Steps after which a test failpoint may fire (the crash tests kill the process there). */
export type SpoolStep = 'claimed' | 'stored' | 'audioRemoved';

export interface SpoolOptions {
  dir: string;
  source: string;
  intervalMs: number;
  failpoint?: (step: SpoolStep) => void | Promise<void>;
}

export interface SpoolPass {
  stored: number;
  replayed: number;
  failed: number;
  retrying: number;
  /** Pairs seen but not yet taken (still changing, or seen for the first time). */
  waiting: number;
}

export interface Spool extends IngestAdapter {
  /** One scan: takes the stable pairs and the due claims, and ingests them one after another. */
  pass(signal?: AbortSignal): Promise<SpoolPass>;
  /** Starts scanning every `intervalMs` (unref'd timer) until `stop`. */
  start(): void;
}

/** `<name>.json` (not `<name>.error.json`) → name. */
function metadataName(file: string): string | undefined {
  if (!file.endsWith('.json') || file.endsWith('.error.json') || file.startsWith('.')) return undefined;
  const name = file.slice(0, -'.json'.length);
  return name === '' ? undefined : name;
}

/** The audio files of `name` among `files`: `<name>.<ext>`, ext not json. */
function audioFilesOf(files: readonly string[], name: string): string[] {
  return files.filter(
    (f) =>
      f.startsWith(`${name}.`) &&
      !f.endsWith('.json') &&
      !f.slice(name.length + 1).includes('.') &&
      f.length > name.length + 1,
  );
}

async function signatureOf(paths: readonly string[]): Promise<string | undefined> {
  try {
    const stats = await Promise.all(paths.map((p) => fs.promises.stat(p)));
    return stats.map((s) => `${s.size}:${s.mtimeMs}`).join('|');
  } catch {
    return undefined;
  }
}

async function audioFileOf(file: string, signal: AbortSignal): Promise<AudioFile> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of fs.createReadStream(file, { signal }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    sizeBytes += chunk.length;
  }
  return { path: file, sha256: hash.digest('hex'), sizeBytes };
}

/**
 * The headerless format of a spooled audio file: the JSON's `audioFormat`, else its extension
 * when that is a headerless format's name (`.ulaw`, `.sln16`, `.gsm`, … as Asterisk writes
 * them); 400 `invalid_metadata` when the two disagree.
 */
export function declaredFormatOf(audioFile: string, stated: RawFormatName | undefined): RawFormatName | undefined {
  const ext = path.extname(audioFile).slice(1).toLowerCase();
  const byExtension = isRawFormatName(ext) ? ext : undefined;
  if (stated && byExtension && !sameRawFormat(stated, byExtension))
    throw errors.invalidMetadata([
      { field: 'audioFormat', message: `disagrees with the audio file's extension .${ext}` },
    ]);
  return stated ?? byExtension;
}

/** The metadata fields of a JSON file: an object of strings, else 400 invalid_metadata. */
async function fieldsOf(file: string): Promise<Record<string, string>> {
  const handle = await fs.promises.open(file, 'r');
  let text: string;
  try {
    const buffer = Buffer.alloc(MAX_JSON_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_JSON_BYTES)
      throw errors.invalidMetadata([{ field: 'metadata', message: `is longer than ${MAX_JSON_BYTES} bytes` }]);
    text = buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw errors.invalidMetadata([{ field: 'metadata', message: 'is not JSON' }]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw errors.invalidMetadata([{ field: 'metadata', message: 'expects a JSON object of strings' }]);
  const fields: Record<string, string> = {};
  const problems = [];
  for (const [key, field] of Object.entries(value)) {
    if (typeof field === 'string') fields[key] = field;
    else if (key === 'pauses' && Array.isArray(field))
      fields[key] = JSON.stringify(field); // the hook's JSON text, as JSON
    else problems.push({ field: key.slice(0, 64), message: 'expects a string' });
  }
  if (problems.length > 0) throw errors.invalidMetadata(problems);
  return fields;
}

/** A refusal that will not change on retry (the pair goes to `failed/`). */
export function isPermanentRefusal(error: AppError): boolean {
  return error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

async function removeIfThere(file: string): Promise<void> {
  await fs.promises.rm(file, { force: true });
}

/** Writes `file` whole or not at all (temp file, fsync, rename). */
async function writeFileAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await fs.promises.open(tmp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
}

export function createSpool(runtime: IngestRuntime, options: SpoolOptions): Spool {
  const { deps, limiter, temp, inflight } = runtime;
  const { logger, clock, config } = deps;
  const claimDir = path.join(options.dir, SPOOL_CLAIM_DIR);
  const failedDir = path.join(options.dir, SPOOL_FAILED_DIR);
  /** The signature of each unclaimed pair on the previous scan. */
  let lastSeen = new Map<string, string>();
  /** When the folder was last looked at (clock ms): a second look proves a pair stable only an interval later. */
  let lastLookAt = Number.NEGATIVE_INFINITY;
  /** Claims waiting for a retry: attempts so far and when the next may run. */
  const backoff = new Map<string, { attempts: number; nextAt: number }>();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  const fail = async (name: string, audio: string | undefined, error: AppError) => {
    await fs.promises.mkdir(failedDir, { recursive: true });
    await writeFileAtomically(path.join(failedDir, `${name}.error.json`), `${JSON.stringify(problemBody(error))}\n`);
    if (audio) await fs.promises.rename(path.join(options.dir, audio), path.join(failedDir, audio));
    await fs.promises.rename(path.join(claimDir, `${name}.json`), path.join(failedDir, `${name}.json`));
    backoff.delete(name);
    logger.warn({ code: error.code }, 'spool pair refused; moved to failed/');
  };

  /** Ingests one claimed pair; returns what happened to it. */
  const ingestClaim = async (
    name: string,
    spoolFiles: readonly string[],
    signal: AbortSignal,
  ): Promise<keyof Omit<SpoolPass, 'waiting'>> => {
    const claimed = path.join(claimDir, `${name}.json`);
    const audios = audioFilesOf(spoolFiles, name);
    if (audios.length === 0) {
      // Our own earlier step: the audio was removed (stored) or moved to failed/ (refused).
      const failedFiles = await fs.promises.readdir(failedDir).catch(() => [] as string[]);
      if (audioFilesOf(failedFiles, name).length > 0) {
        await fs.promises.rename(claimed, path.join(failedDir, `${name}.json`));
        return 'failed';
      }
      await removeIfThere(claimed);
      return 'stored';
    }
    try {
      if (audios.length > 1) throw errors.invalidRequest(`More than one audio file is named ${name}.*`);
      const audioPath = path.join(options.dir, audios[0]!);
      const parsed = parseIngestMetadata(await fieldsOf(claimed), {
        nowMs: clock.now(),
        region: config.phoneRegion,
        maxDurationMs: config.ingest.maxDurationMs,
      });
      if (!parsed.ok) throw errors.invalidMetadata(parsed.problems);
      const declaredFormat = declaredFormatOf(audios[0]!, parsed.audioFormat);
      const audio = { ...(await audioFileOf(audioPath, signal)), ...(declaredFormat ? { declaredFormat } : {}) };
      const ticket = limiter.admit();
      if (!ticket) throw errors.overloaded(Math.ceil(options.intervalMs / 1000));
      const dir = await temp.requestDir();
      let created: boolean;
      try {
        ({ created } = await ingestRecording(deps, {
          source: options.source,
          meta: parsed.value,
          audio,
          dir,
          ticket,
          inflight,
          signal,
        }));
      } finally {
        ticket.release();
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
      await options.failpoint?.('stored');
      await removeIfThere(audioPath);
      await options.failpoint?.('audioRemoved');
      await removeIfThere(claimed);
      backoff.delete(name);
      return created ? 'stored' : 'replayed';
    } catch (error) {
      if (signal.aborted) throw error;
      const problem = isAppError(error) ? error : toAppError(error);
      if (isPermanentRefusal(problem)) {
        await fail(name, audios.length === 1 ? audios[0] : undefined, problem);
        return 'failed';
      }
      const attempts = (backoff.get(name)?.attempts ?? 0) + 1;
      const delayMs = Math.min(MAX_BACKOFF_MS, options.intervalMs * 2 ** (attempts - 1));
      backoff.set(name, { attempts, nextAt: clock.now() + delayMs });
      logger.warn(
        { code: problem.code, attempts, retryInMs: delayMs, err: problem.status >= 500 ? problem.cause : undefined },
        'spool pair not stored; will retry',
      );
      return 'retrying';
    }
  };

  /**
   * Looks at the folder: claims the pairs that looked the same as on the previous look, remembers the others.
   * Returns every claimed name (new and earlier) and the folder's listing.
   */
  const observe = async (result: SpoolPass): Promise<{ claims: Set<string>; spoolFiles: string[] }> => {
    await fs.promises.mkdir(claimDir, { recursive: true });
    const spoolFiles = await fs.promises.readdir(options.dir);
    const claims = new Set(
      (await fs.promises.readdir(claimDir)).map(metadataName).filter((n): n is string => n !== undefined),
    );
    const seen = new Map<string, string>();
    result.waiting = 0;
    for (const file of spoolFiles) {
      const name = metadataName(file);
      if (!name || claims.has(name)) continue;
      const audios = audioFilesOf(spoolFiles, name);
      const signature = await signatureOf([file, ...audios].map((f) => path.join(options.dir, f)));
      if (signature === undefined || audios.length === 0) {
        result.waiting += 1;
        continue;
      }
      if (lastSeen.get(name) !== signature) {
        seen.set(name, signature);
        result.waiting += 1;
        continue;
      }
      await fs.promises.rename(path.join(options.dir, file), path.join(claimDir, file));
      await options.failpoint?.('claimed');
      claims.add(name);
    }
    lastSeen = seen;
    lastLookAt = clock.now();
    return { claims, spoolFiles };
  };

  /**
   * One scan, then the claims in name order. A batch that runs longer than the interval looks at the folder again
   * between two pairs, so pairs dropped meanwhile are proven stable while the batch runs, not after it.
   */
  const pass = async (outer?: AbortSignal): Promise<SpoolPass> => {
    const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
    const result: SpoolPass = { stored: 0, replayed: 0, failed: 0, retrying: 0, waiting: 0 };
    let { claims, spoolFiles } = await observe(result);
    const done = new Set<string>();
    for (;;) {
      const name = [...claims].sort().find((n) => !done.has(n));
      if (name === undefined || signal.aborted || stopped) break;
      done.add(name);
      const due = backoff.get(name);
      if (due && due.nextAt > clock.now()) {
        result.retrying += 1;
        continue;
      }
      result[await ingestClaim(name, spoolFiles, signal)] += 1;
      if (clock.now() - lastLookAt >= options.intervalMs && !signal.aborted && !stopped)
        ({ claims, spoolFiles } = await observe(result));
    }
    return result;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass()
        .catch((error: unknown) => {
          // The error's code only: file-system messages carry paths, and so the pair's name.
          if (!controller.signal.aborted)
            logger.error({ code: (error as NodeJS.ErrnoException).code ?? (error as Error).name }, 'spool scan failed');
        })
        .finally(schedule);
    }, options.intervalMs);
    timer.unref();
  };

  return {
    pass,
    start() {
      schedule();
    },
    async stop({ drainMs }) {
      // The pair being ingested gets `drainMs`; then it is aborted (the pipeline cleans up) and stays claimed for the
      // next start.
      stopped = true;
      clearTimeout(timer);
      let deadline: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise<void>((resolve) => (deadline = setTimeout(resolve, drainMs)))]);
      clearTimeout(deadline);
      controller.abort();
      await running;
    },
  };
}
