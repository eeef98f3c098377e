/**
 * The security log: sign-in events written to the access log (`access_log`, recording id null),
 * so that auditors read them where they read every other access (`GET /v1/access-log`, filter
 * `action=`). Each entry names the user the event is about (for a CLI reset: the user reset,
 * with `"by": "cli"` in the detail). The detail is JSON of safe fields only (method, client
 * address, reason, roles): never a password, code, secret, recovery code or token.
 * Failed sign-ins are entered only for existing users (an unknown username may be a password
 * typed into the wrong field); the process log has every attempt.
 */
import type { Clock } from '../clock.js';
import type { Db } from '../db/db.js';
import { appendAccess } from '../db/access-log.js';
import type { AccessAction } from '../db/access-log.js';
import type { Role } from '../domain/roles.js';

export type SecurityAction = Extract<
  AccessAction,
  'sign_in' | 'sign_in_failed' | 'code_failed' | 'recovery_used' | 'mfa_enrolled' | 'mfa_reset' | 'role_changed'
>;

export async function logSecurityEvent(
  deps: { db: Db; clock: Clock },
  event: {
    action: SecurityAction;
    user: { id: string; username: string; role: Role };
    requestId?: string;
    detail?: Record<string, string | number | boolean | null | readonly string[]>;
  },
): Promise<void> {
  await appendAccess(deps.db.knex, {
    principal: { userId: event.user.id, username: event.user.username, role: event.user.role },
    recordingId: null,
    action: event.action,
    at: deps.clock.now(),
    requestId: event.requestId,
    detail: event.detail === undefined ? undefined : JSON.stringify(event.detail),
  });
}
