/**
 * Process owners for crash-recovery tests: other live processes, dead ones, per-process temp
 * folders as another instance would leave them, and what a temp root holds besides owner files.
 *
 *   const other = await liveProcess();           // a running process of this machine (kill it in after())
 *   const dead = await deadOwner();              // the owner of a process that was SIGKILLed
 *   const dir = writeOwnedDir(root, dead, { files: { 'ingest-x/original': 'audio' } });
 *   expect(tempLeftovers(root)).to.deep.equal([]); // nothing but (empty) owner folders
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OWNER_FILE } from '../../src/owned-dirs.js';
import { formatOwner, ownerOfProcess, parseOwner } from '../../src/process-owner.js';
import type { ProcessOwner } from '../../src/process-owner.js';

export interface LiveProcess {
  owner: ProcessOwner;
  child: ChildProcess;
  /** SIGKILLs the process and resolves once it has been reaped. */
  kill(): Promise<void>;
}

/** A child process that idles until killed. */
export async function liveProcess(): Promise<LiveProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  const owner = ownerOfProcess(child.pid!);
  if (!owner) throw new Error('the spawned process is not running');
  return {
    owner,
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The owner identity of a process of this machine that has been SIGKILLed. */
export async function deadOwner(): Promise<ProcessOwner> {
  const live = await liveProcess();
  await live.kill();
  return live.owner;
}

/**
 * A per-process temp folder as `claimOwnedDir` makes it, for `owner`, with its heartbeat
 * (owner file mtime) at `heartbeatAt` (default now) and the given files (relative path → content).
 */
export function writeOwnedDir(
  root: string,
  owner: ProcessOwner,
  options: { heartbeatAt?: number; files?: Record<string, string> } = {},
): string {
  const dir = path.join(root, `${owner.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(options.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  const file = path.join(dir, OWNER_FILE);
  fs.writeFileSync(
    file,
    JSON.stringify({ owner: formatOwner(owner), host: 'test', createdAt: new Date().toISOString() }),
  );
  const at = new Date(options.heartbeatAt ?? Date.now());
  fs.utimesSync(file, at, at);
  return dir;
}

/** Sets an entry's mtime (an old crash leftover). */
export function age(target: string, at: number): void {
  fs.utimesSync(target, new Date(at), new Date(at));
}

/** Entries of a folder; none when it is gone (a live service removes its temp folders while they are walked). */
function entriesOf(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function walk(dir: string, prefix: string, out: string[]): void {
  for (const entry of entriesOf(dir)) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) {
      const inner: string[] = [];
      walk(path.join(dir, entry.name), `${rel}/`, inner);
      out.push(...(inner.length ? inner : [`${rel}/`]));
    } else out.push(rel);
  }
}

/**
 * Everything under a temp root (relative paths; an empty folder ends in `/`) except the
 * per-process owner folders themselves: their owner files, and the folders when nothing else
 * is inside. A root that does not exist is empty.
 */
export function tempLeftovers(root: string): string[] {
  const out: string[] = [];
  for (const entry of entriesOf(root)) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory() && fs.existsSync(path.join(full, OWNER_FILE))) {
      const inner: string[] = [];
      walk(full, `${entry.name}/`, inner);
      out.push(...inner.filter((rel) => rel !== `${entry.name}/${OWNER_FILE}`));
    } else if (entry.isDirectory()) {
      const inner: string[] = [];
      walk(full, `${entry.name}/`, inner);
      out.push(...(inner.length ? inner : [`${entry.name}/`]));
    } else out.push(entry.name);
  }
  return out.sort();
}

/** The owners of the per-process folders under a temp root. */
export function tempOwners(root: string): ProcessOwner[] {
  if (!fs.existsSync(root)) return [];
  const owners: ProcessOwner[] = [];
  for (const name of fs.readdirSync(root)) {
    const file = path.join(root, name, OWNER_FILE);
    if (!fs.existsSync(file)) continue;
    const owner = parseOwner((JSON.parse(fs.readFileSync(file, 'utf8')) as { owner?: unknown }).owner);
    if (owner) owners.push(owner);
  }
  return owners;
}
