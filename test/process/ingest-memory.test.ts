/**
 * Bounded memory for any upload size, measured where it matters: the peak resident set
 * (VmHWM) of the service process itself (`src/main.ts`, embedded default), not of the test
 * runner that also generates and signs the body.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { tempDir } from '../support/backends.js';
import { wavHeader } from '../support/fixtures.js';
import { startService } from '../support/main-process.js';
import { tempLeftovers } from '../support/owners.js';
import { TEST_SECRET, TEST_SOURCE, signedStreamUpload } from '../support/upload.js';

/** Peak resident set of a live process (Linux /proc), in bytes. */
function peakRss(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmHWM for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** A μ-law WAV of `total` bytes (header + 0xFF silence), generated on the fly, the same bytes every call. */
function silentWavStream(total: number): () => Readable {
  const chunk = Buffer.alloc(1024 * 1024, 0xff);
  return () =>
    Readable.from(
      (function* () {
        yield wavHeader({ dataBytes: total - 44 });
        for (let left = total - 44; left > 0; left -= chunk.length)
          yield left >= chunk.length ? chunk : chunk.subarray(0, left);
      })(),
    );
}

describe('the service process and upload memory', function () {
  this.timeout(300_000);
  let dataDir: string;
  beforeEach(() => (dataDir = tempDir('callrec-ingest-memory-')));
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("when a 1 GB WAV streams in, then the service's peak memory grows by less than 150 MB and nothing stays behind", async () => {
    // 1 GB of 8 kHz μ-law is 37 h of call: the whole body is hashed, parsed and written to the
    // temp dir, the signature verified, then ffprobe finds it longer than CALLREC_MAX_DURATION,
    // so it is refused (413) and removed.
    const service = startService({
      CALLREC_DATA_DIR: dataDir,
      CALLREC_INGEST_SOURCES: `${TEST_SOURCE}:${TEST_SECRET}`,
    });
    try {
      const url = await service.url();
      const before = peakRss(service.child.pid!);
      const TOTAL = 1024 ** 3;
      const fields = {
        callId: 'memory-1gb',
        startedAt: new Date(Date.now() - 60_000).toISOString(),
        direction: 'inbound',
        callerNumber: '+31612345678',
        calleeNumber: '+31201234567',
      };
      const res = await signedStreamUpload({ url, fields, audio: silentWavStream(TOTAL), audioBytes: TOTAL });
      expect(res.status, res.text).to.equal(413);
      expect(res.body.code).to.equal('too_large');
      const growthMb = (peakRss(service.child.pid!) - before) / 1024 ** 2;
      expect(growthMb, `peak RSS (VmHWM) growth ${growthMb.toFixed(1)} MB`).to.be.lessThan(150);
      expect(tempLeftovers(path.join(dataDir, 'tmp')), 'ingest temp files').to.deep.equal([]);
      service.child.kill('SIGTERM');
      expect(await service.exit).to.deep.equal({ code: 0, signal: null });
    } finally {
      await service.kill();
    }
  });
});
