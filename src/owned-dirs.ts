/**
 * Per-process temp folders, so that what a killed process left behind can be told from the work
 * of a live one (another instance on the same data dir).
 *
 * Layout of a temp root: `<root>/<pid>-<random>/` per process, holding `owner.json` (the owner,
 * see process-owner.ts, and the host name for operators) and the process's temp files. The owner
 * file's mtime is the heartbeat: the owning process touches it every OWNER_HEARTBEAT_MS, and its
 * lease runs OWNER_LEASE_MS from there.
 *
 * `removeStaleOwnedDirs` removes every folder whose owner is dead (`isOwnerAlive`), and any other
 * entry of the root (no owner file: a folder killed between its creation and its owner file, or
 * the flat layout of older versions) once it is UNOWNED_GRACE_MS old. It never touches a live
 * owner's folder.
 */
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  OWNER_HEARTBEAT_MS,
  OWNER_LEASE_MS,
  currentOwner,
  formatOwner,
  isOwnerAlive,
  parseOwner,
} from './process-owner.js';
import type { ProcessOwner } from './process-owner.js';

export const OWNER_FILE = 'owner.json';
/** An entry of a temp root without a readable owner file is removed once it is this old. */
export const UNOWNED_GRACE_MS = 10 * 60_000;

export interface OwnedDir {
  /** The folder; temp files of this process go inside. */
  readonly path: string;
  /** Re-creates the folder and its owner file when they are gone (a peer removed them after a lapsed lease). */
  ensure(): Promise<void>;
  /** Stops the heartbeat and removes the folder with everything in it. Idempotent. */
  release(): Promise<void>;
}

export interface StaleRemoval {
  /** Entries of the root removed (or, on a dry run, found), with the bytes they held. */
  removed: Array<{ name: string; bytes: number }>;
  /** Folders left because their owner is alive. */
  live: number;
}

function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

async function writeOwnerFile(dir: string, owner: ProcessOwner, at: number): Promise<void> {
  const file = path.join(dir, OWNER_FILE);
  await fsp.writeFile(
    file,
    `${JSON.stringify({ owner: formatOwner(owner), host: os.hostname(), createdAt: new Date(at).toISOString() })}\n`,
    { mode: 0o600 },
  );
  const seconds = at / 1000;
  await fsp.utimes(file, seconds, seconds);
}

/**
 * Creates this process's folder under `root` (creating root too) and starts its heartbeat
 * (an unref'd timer: it never keeps the process alive).
 */
export async function claimOwnedDir(
  root: string,
  options: { now?: () => number; heartbeatMs?: number } = {},
): Promise<OwnedDir> {
  const now = options.now ?? Date.now;
  const owner = currentOwner();
  const dir = path.join(root, `${owner.pid}-${randomBytes(4).toString('hex')}`);
  const file = path.join(dir, OWNER_FILE);
  let released = false;
  /** Creates the folder and its owner file; the root too unless `withinRoot` (a removed root stays removed). */
  const create = async (options: { withinRoot: boolean }) => {
    if (released) return;
    if (!options.withinRoot) await fsp.mkdir(root, { recursive: true });
    await fsp.mkdir(dir, { mode: 0o700 }).catch((error: unknown) => {
      if (errno(error) !== 'EEXIST') throw error;
    });
    await writeOwnerFile(dir, owner, now());
  };
  const ensure = () => create({ withinRoot: false });
  await ensure();
  const touch = async () => {
    const seconds = now() / 1000;
    try {
      await fsp.utimes(file, seconds, seconds);
    } catch (error) {
      // Removed by a peer after a lapsed lease: back, as long as the root itself is still there.
      if (errno(error) === 'ENOENT') await create({ withinRoot: true }).catch(() => undefined);
    }
  };
  const timer = setInterval(() => void touch(), options.heartbeatMs ?? OWNER_HEARTBEAT_MS);
  timer.unref();
  return {
    path: dir,
    ensure,
    async release() {
      released = true;
      clearInterval(timer);
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Bytes held by a file or folder (best effort). */
async function sizeOf(target: string): Promise<number> {
  const stats = await fsp.lstat(target).catch(() => undefined);
  if (!stats) return 0;
  if (!stats.isDirectory()) return stats.size;
  const entries = await fsp.readdir(target).catch(() => [] as string[]);
  let total = 0;
  for (const name of entries) total += await sizeOf(path.join(target, name));
  return total;
}

/** The owner named by a folder's owner file and its lease, or undefined when there is no readable one. */
async function ownerOfDir(dir: string): Promise<{ owner: ProcessOwner; leaseExpiresAt: number } | undefined> {
  const file = path.join(dir, OWNER_FILE);
  try {
    const [text, stats] = await Promise.all([fsp.readFile(file, 'utf8'), fsp.stat(file)]);
    const owner = parseOwner((JSON.parse(text) as { owner?: unknown }).owner);
    return owner ? { owner, leaseExpiresAt: stats.mtimeMs + OWNER_LEASE_MS } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes what dead processes left under `root` (see the module comment). A missing root is
 * empty. `dryRun` reports without removing.
 */
export async function removeStaleOwnedDirs(
  root: string,
  options: { now: number; dryRun?: boolean; self?: ProcessOwner; startOf?: (pid: number) => string | undefined },
): Promise<StaleRemoval> {
  const result: StaleRemoval = { removed: [], live: 0 };
  let entries: string[];
  try {
    entries = await fsp.readdir(root);
  } catch (error) {
    if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return result;
    throw error;
  }
  for (const name of entries.sort()) {
    const entry = path.join(root, name);
    const stats = await fsp.lstat(entry).catch(() => undefined);
    if (!stats) continue; // removed meanwhile
    const owned = stats.isDirectory() ? await ownerOfDir(entry) : undefined;
    if (owned) {
      if (
        isOwnerAlive(owned.owner, {
          leaseExpiresAt: owned.leaseExpiresAt,
          now: options.now,
          self: options.self,
          startOf: options.startOf,
        })
      ) {
        result.live += 1;
        continue;
      }
    } else if (options.now - stats.mtimeMs < UNOWNED_GRACE_MS) continue;
    const bytes = await sizeOf(entry);
    if (!options.dryRun) await fsp.rm(entry, { recursive: true, force: true });
    result.removed.push({ name, bytes });
  }
  return result;
}
