/**
 * Backpressure for the upload hook: at most `concurrency` transcodes run at
 * once, at most `queueLimit` admitted uploads wait for one. Only an upload whose
 * signature has been verified is admitted: a `v2` upload (signed over its headers)
 * before its body is read, a `v1` upload once its body is in and verified (while it
 * is received, unverified.ts bounds it instead). A refused client costs nothing; an
 * admitted one holds its ticket until it is answered.
 */
export interface Ticket {
  /** Runs `work` in a transcode slot, waiting for one; rejects with the abort reason if aborted while waiting. */
  runExclusive<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Gives the admission back (idempotent). */
  release(): void;
}

export interface IngestLimiter {
  /** A ticket, or undefined when `concurrency + queueLimit` uploads are already admitted. */
  admit(): Ticket | undefined;
  /** Whether `admit()` would give a ticket right now (takes nothing). */
  readonly hasRoom: boolean;
  readonly admitted: number;
  readonly running: number;
}

export function createIngestLimiter(options: { concurrency: number; queueLimit: number }): IngestLimiter {
  const capacity = options.concurrency + options.queueLimit;
  let admitted = 0;
  let running = 0;
  const waiting: Array<() => void> = [];

  const acquire = (signal?: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      if (running < options.concurrency) {
        running++;
        return resolve();
      }
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        running++;
        resolve();
      };
      const onAbort = () => {
        const index = waiting.indexOf(grant);
        if (index >= 0) waiting.splice(index, 1);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      waiting.push(grant);
    });

  const releaseSlot = () => {
    running--;
    const next = waiting.shift();
    if (next) next();
  };

  return {
    admit() {
      if (admitted >= capacity) return undefined;
      admitted++;
      let released = false;
      return {
        async runExclusive(work, signal) {
          await acquire(signal);
          try {
            return await work();
          } finally {
            releaseSlot();
          }
        },
        release() {
          if (released) return;
          released = true;
          admitted--;
        },
      };
    },
    get hasRoom() {
      return admitted < capacity;
    },
    get admitted() {
      return admitted;
    },
    get running() {
      return running;
    },
  };
}
