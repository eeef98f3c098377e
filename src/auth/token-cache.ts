/**
 * A short-lived, bounded, in-process cache of bearer token → principal, so that
 * a client streaming audio (dozens of ranged requests a minute) does not pay a
 * database round trip per request for the same token.
 *
 * Contract and security trade-off:
 * - Keyed by the token's sha256 hex (the raw token is never kept). Only tokens
 *   that authenticated someone are cached; an unknown, revoked or disabled
 *   user's token is looked up again on every request.
 * - An entry lives TOKEN_CACHE_TTL_MS (by the injected clock) and the cache holds
 *   at most TOKEN_CACHE_MAX_ENTRIES (oldest dropped first).
 * - Any change of credentials made in THIS process through `auth/accounts.ts`
 *   (token revoked, user disabled, password reset) calls `credentialsChanged()`,
 *   which empties every token cache of the process at once: the very next
 *   request goes to the database. A lookup that raced with such a change (read
 *   the database before it, stores after it) is not kept.
 * - A change made by ANOTHER process (the `callrec` CLI, another instance of
 *   the service) is not seen until the entry expires: there a revoked token or
 *   a disabled user's token keeps working for at most TOKEN_CACHE_TTL_MS after
 *   the change. That is the price of skipping the query; 5 s is far below the
 *   time any human revocation procedure takes, and sessions (the browser) are
 *   not cached at all.
 */
import type { Principal } from './principal.js';

/** How long a cached token → principal mapping is trusted without asking the database. */
export const TOKEN_CACHE_TTL_MS = 5_000;
/** The most tokens cached at once. */
export const TOKEN_CACHE_MAX_ENTRIES = 10_000;

let epoch = 0;

/** Empties every token cache of this process (call after revoking, disabling, or changing a user's role or queues). */
export function credentialsChanged(): void {
  epoch++;
}

/** The current generation of credentials; a cache fill carries the one read before its lookup. */
export function credentialsEpoch(): number {
  return epoch;
}

export interface CachedToken {
  principal: Principal;
  tokenId: string;
  /** last_used_at as last written or read: touches stay at most one per interval. */
  lastUsedAt: number | null;
}

interface Entry extends CachedToken {
  epoch: number;
  expiresAt: number;
}

export interface TokenCache {
  /** The cached token of this hash, or undefined when absent, expired or older than the last credentials change. */
  get(tokenHash: string, now: number): CachedToken | undefined;
  /** Caches a token that authenticated, unless credentials changed since `epochBefore` (read before the lookup). */
  set(tokenHash: string, value: CachedToken, options: { now: number; epochBefore: number }): void;
  readonly size: number;
}

export function createTokenCache(options: { ttlMs?: number; maxEntries?: number } = {}): TokenCache {
  const ttlMs = options.ttlMs ?? TOKEN_CACHE_TTL_MS;
  const maxEntries = options.maxEntries ?? TOKEN_CACHE_MAX_ENTRIES;
  const entries = new Map<string, Entry>();
  let seenEpoch = epoch;
  return {
    get(tokenHash, now) {
      if (seenEpoch !== epoch) {
        entries.clear();
        seenEpoch = epoch;
        return undefined;
      }
      const entry = entries.get(tokenHash);
      if (!entry) return undefined;
      // A clock that went backwards also ends the entry.
      if (entry.epoch !== epoch || now >= entry.expiresAt || now < entry.expiresAt - ttlMs) {
        entries.delete(tokenHash);
        return undefined;
      }
      return entry;
    },
    set(tokenHash, value, { now, epochBefore }) {
      if (ttlMs <= 0 || epochBefore !== epoch) return;
      if (seenEpoch !== epoch) {
        entries.clear();
        seenEpoch = epoch;
      }
      entries.delete(tokenHash);
      entries.set(tokenHash, { ...value, epoch, expiresAt: now + ttlMs });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    get size() {
      return entries.size;
    },
  };
}
