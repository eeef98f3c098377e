/**
 * Running the ingest pipeline (src/ingest/ingest.ts) directly, as an adapter does: typed call
 * metadata (a builder with overrides) plus an audio file on disk.
 *
 *   const runtime = createIngestRuntime(deps);
 *   const outcome = await ingestFile(runtime, { audioPath, meta: { callId: 'c1' } });
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { AudioFile, CallMetadata } from '../../src/ingest/call-metadata.js';
import { ingestRecording } from '../../src/ingest/ingest.js';
import type { IngestOutcome } from '../../src/ingest/ingest.js';
import type { IngestRuntime } from '../../src/ingest/service.js';
import { TEST_SOURCE } from './upload.js';

let seq = 0;

/** Call metadata of a call that started a minute ago, with a fresh callId unless overridden. */
export function buildCallMetadata(overrides: Partial<CallMetadata> = {}): CallMetadata {
  return {
    callId: `pipeline-${Date.now()}-${++seq}`,
    startedAt: Date.now() - 60_000,
    agentId: null,
    queue: null,
    direction: null,
    endedAt: null,
    callerNumber: null,
    calleeNumber: null,
    callerNumberKind: null,
    calleeNumberKind: null,
    agentChannel: null,
    callGroupId: null,
    caseReference: null,
    pauses: [],
    ...overrides,
  };
}

/** The file at `path` with its digest and size, as an adapter hands it to the pipeline. */
export async function audioFileOf(path: string): Promise<AudioFile> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of fs.createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    sizeBytes += chunk.length;
  }
  return { path, sha256: hash.digest('hex'), sizeBytes };
}

/** Runs the pipeline once with a ticket of the runtime's limiter and a temp folder of its own (removed after). */
export async function ingestFile(
  runtime: IngestRuntime,
  input: { audioPath: string; meta?: Partial<CallMetadata>; source?: string; signal?: AbortSignal },
): Promise<IngestOutcome> {
  const ticket = runtime.limiter.admit();
  if (!ticket) throw new Error('the test limiter is full');
  const dir = await runtime.temp.requestDir();
  try {
    return await ingestRecording(runtime.deps, {
      source: input.source ?? TEST_SOURCE,
      meta: buildCallMetadata(input.meta),
      audio: await audioFileOf(input.audioPath),
      dir,
      ticket,
      inflight: runtime.inflight,
      signal: input.signal ?? new AbortController().signal,
    });
  } finally {
    ticket.release();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
