/** CALLREC_LOCAL_LOGIN: whether a local password sign-in of this role is allowed (API tokens are not affected). */
import type { Config } from '../config.js';
import type { Role } from '../domain/roles.js';

export function localLoginAllowed(config: Pick<Config, 'localLogin'>, role: Role): boolean {
  if (config.localLogin === 'on') return true;
  return config.localLogin === 'admins-only' && role === 'admin';
}
