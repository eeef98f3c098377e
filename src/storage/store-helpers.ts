/**
 * Helpers every store driver (and the decorators over them) shares: aborts, the list page limit,
 * and bounded concurrency. One copy, here.
 */

/** The AbortError an aborted signal stands for (its own reason when that is one). */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** An abort (DOM AbortError, or Node's ABORT_ERR code). */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR');
}

/** Most items one `list`/`listVersions` page returns (S3's own maximum). */
export const MAX_LIST_LIMIT = 1000;

/** The page size of a listing asked for `requested` items: 1..MAX_LIST_LIMIT, MAX_LIST_LIMIT when unset. */
export function listLimit(requested: number | undefined): number {
  return Math.max(1, Math.min(requested ?? MAX_LIST_LIMIT, MAX_LIST_LIMIT));
}

/** Runs `fn` over `items` with at most `limit` running at once; rejects with the first failure. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
