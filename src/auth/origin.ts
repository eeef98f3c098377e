/**
 * The CSRF origin check for cookie-authenticated, state-changing requests:
 * the `Origin` header (or, failing that, the origin of `Referer`) must equal
 * the service's own origin — `config.publicUrl` when set, else the scheme and
 * Host of the request. A missing or `null` origin does not match.
 */
import type { Request } from 'express';
import type { Config } from '../config.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isStateChanging(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

export function ownOrigin(req: Request, config: Config): string | undefined {
  if (config.publicUrl) return new URL(config.publicUrl).origin;
  const host = req.get('host');
  if (!host) return undefined;
  try {
    return new URL(`${req.protocol}://${host}`).origin;
  } catch {
    return undefined;
  }
}

/** The origin the request claims to come from, or undefined when it names none. */
export function claimedOrigin(req: Request): string | undefined {
  const origin = req.get('origin');
  if (origin !== undefined) return origin === 'null' ? undefined : origin.trim().toLowerCase().replace(/\/$/, '');
  const referer = req.get('referer');
  if (referer === undefined) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

export function originMatches(req: Request, config: Config): boolean {
  const own = ownOrigin(req, config);
  const claimed = claimedOrigin(req);
  return own !== undefined && claimed !== undefined && claimed === own.toLowerCase();
}
