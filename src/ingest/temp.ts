/**
 * Ingest's temp files: `<dataDir>/tmp/<pid>-<random>/ingest-*`, one folder per request inside a
 * folder owned by the process (src/owned-dirs.ts). The process folder is claimed at the first
 * upload and removed by `release()` (shutdown). What a killed process left there is removed by
 * `removeStaleIngestTemp` (at startup, periodically and by reconcile); the folders of live
 * processes (other instances on the same data dir) are never touched.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import { claimOwnedDir, removeStaleOwnedDirs } from '../owned-dirs.js';
import type { OwnedDir, StaleRemoval } from '../owned-dirs.js';

/** The temp root of ingest; each process gets its own folder inside. */
export function ingestTempRoot(dataDir: string): string {
  return path.join(dataDir, 'tmp');
}

export interface IngestTemp {
  /** A new, empty folder for one request; the caller removes it whatever happens. */
  requestDir(): Promise<string>;
  /** Removes the process folder (and anything a request still holds). */
  release(): Promise<void>;
}

export function createIngestTemp(options: { dataDir: string; clock: Clock }): IngestTemp {
  const root = ingestTempRoot(options.dataDir);
  let owned: Promise<OwnedDir> | undefined;
  const claim = () => {
    owned ??= claimOwnedDir(root, { now: () => options.clock.now() }).catch((error: unknown) => {
      owned = undefined;
      throw error;
    });
    return owned;
  };
  return {
    async requestDir() {
      const dir = await claim();
      const prefix = path.join(dir.path, 'ingest-');
      try {
        return await fsp.mkdtemp(prefix);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOENT') throw error;
        await dir.ensure(); // a peer removed it after our lease lapsed
        return fsp.mkdtemp(prefix);
      }
    },
    async release() {
      const dir = owned;
      owned = undefined;
      await dir?.then(
        (d) => d.release(),
        () => undefined,
      );
    },
  };
}

/** Removes the ingest temp folders of dead processes under `<dataDir>/tmp`. `dryRun` only reports. */
export async function removeStaleIngestTemp(options: {
  dataDir: string;
  now: number;
  dryRun?: boolean;
}): Promise<StaleRemoval> {
  return removeStaleOwnedDirs(ingestTempRoot(options.dataDir), { now: options.now, dryRun: options.dryRun });
}
