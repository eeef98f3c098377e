/**
 * Which process owns a piece of unfinished work (an ingest temp folder, a put's temp files, an
 * in-flight upload's marker row), and whether that process still lives. Crash recovery removes
 * only work whose owner is dead, so that several instances on one data dir or one database never
 * delete each other's uploads.
 *
 * An owner is (machine, pid, start):
 * - `machine` names the kernel boot and pid namespace the pid belongs to (Linux: the boot id and
 *   the pid namespace's inode; elsewhere `host:<hostname>`). Two containers sharing a volume, or
 *   two hosts sharing a database, are different machines: their pids say nothing to each other.
 * - `start` is the process's start time (Linux: field 22 of /proc/<pid>/stat, clock ticks since
 *   boot), so that a reused pid is never taken for the process that died; `?` where unknown.
 *
 * Liveness (`isOwnerAlive`): an owner is dead once its lease ran out (it renews the lease every
 * OWNER_HEARTBEAT_MS while it works; the lease is OWNER_LEASE_MS), and, on the same machine, as
 * soon as no process with its pid and start time exists (a kill -9 is recognised at once). An
 * owner on another machine is judged by its lease alone.
 */
import fs from 'node:fs';
import os from 'node:os';

/** How often a live owner renews its leases. */
export const OWNER_HEARTBEAT_MS = 60_000;
/** How long a lease holds without renewal; after that the work counts as abandoned. */
export const OWNER_LEASE_MS = 5 * 60_000;

export interface ProcessOwner {
  machine: string;
  pid: number;
  start: string;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

let cachedMachine: string | undefined;

/** This process's machine identity (see the module comment); computed once. */
export function machineId(): string {
  if (cachedMachine !== undefined) return cachedMachine;
  const boot = readText('/proc/sys/kernel/random/boot_id');
  let namespace: string | undefined;
  try {
    namespace = /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[1];
  } catch {
    namespace = undefined;
  }
  cachedMachine = boot && namespace ? `${boot}.${namespace}` : `host:${os.hostname()}`;
  return cachedMachine;
}

/**
 * The start identity of process `pid` on this machine, or undefined when no such process runs
 * (a zombie counts as gone: it has exited and holds nothing). `?` when the platform offers no
 * start time but the process exists.
 */
export function processStartOf(pid: number): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const stat = readText(`/proc/${pid}/stat`);
  if (stat !== undefined) {
    // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z' || state === 'X') return undefined;
    return fields[19];
  }
  if (fs.existsSync('/proc/self/stat')) return undefined; // Linux, and the process is gone
  try {
    process.kill(pid, 0);
    return '?';
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM' ? '?' : undefined;
  }
}

let cachedSelf: ProcessOwner | undefined;

/** The owner identity of this process. */
export function currentOwner(): ProcessOwner {
  cachedSelf ??= { machine: machineId(), pid: process.pid, start: processStartOf(process.pid) ?? '?' };
  return cachedSelf;
}

/** The owner of another process of this machine (tests and tools), or undefined when it is not running. */
export function ownerOfProcess(pid: number): ProcessOwner | undefined {
  const start = processStartOf(pid);
  return start === undefined ? undefined : { machine: machineId(), pid, start };
}

/**
 * `machine/pid/start[/role]`: the form stored in owner files and marker rows (no personal data).
 * `role` tells apart several owners within one process (ingest, crash recovery), which must not
 * be able to take each other's work; liveness ignores it.
 */
export function formatOwner(owner: ProcessOwner, role?: string): string {
  if (role !== undefined && !/^[A-Za-z0-9._-]+$/.test(role)) throw new Error('an owner role is [A-Za-z0-9._-]');
  return `${owner.machine}/${owner.pid}/${owner.start}${role === undefined ? '' : `/${role}`}`;
}

export function parseOwner(text: unknown): ProcessOwner | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^([^/]+)\/(\d+)\/([^/]+)(?:\/[A-Za-z0-9._-]+)?$/.exec(text);
  if (!match) return undefined;
  return { machine: match[1]!, pid: Number(match[2]), start: match[3]! };
}

/**
 * Whether the owner of some work is alive at `now`, given when its lease runs out. Pure apart
 * from `startOf` (which looks at the process table; injectable for tests).
 */
export function isOwnerAlive(
  owner: ProcessOwner,
  options: { leaseExpiresAt: number; now: number; self?: ProcessOwner; startOf?: (pid: number) => string | undefined },
): boolean {
  if (options.now >= options.leaseExpiresAt) return false;
  const self = options.self ?? currentOwner();
  if (owner.machine !== self.machine) return true;
  const start = (options.startOf ?? processStartOf)(owner.pid);
  if (start === undefined) return false;
  return start === owner.start || start === '?' || owner.start === '?';
}
