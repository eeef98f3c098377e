/**
 * `callrec user …`: add, disable, enable, list.
 *
 * - `user add <name> --role trainer|auditor|privacy|admin|agent [--queues a,b] [--agent-id X]` prints
 *   ONLY the generated password on stdout (shown once; only its scrypt hash is stored).
 *   `--queues` is for trainers only; `--agent-id` is required for (and only for) role agent.
 * - `user disable <name>` / `user enable <name>`: idempotent; disabling also ends the user's sessions.
 * - `user reset-password <name>` prints ONLY the new generated password and ends the user's sessions.
 * - `user reset-mfa <name>` removes the user's second factor and recovery codes (a lost phone),
 *   ends their sessions and writes `mfa_reset` to the security log; they enrol again at their next sign-in.
 * - `user list`: one JSON object per line, never a password hash.
 * Errors go to stderr with exit code 1 (2 for usage errors).
 */
import { createUser, parseQueueList, resetMfa, resetPassword, setDisabled } from '../auth/accounts.js';
import { ROLES } from '../domain/roles.js';
import { listUsers } from '../db/users.js';
import type { User } from '../db/users.js';
import { isAppError } from '../errors.js';
import { parseCommandArgs } from './context.js';
import type { CliCommand, CliContext } from './context.js';

const USAGE = [
  'usage: callrec user add <name> --role trainer|auditor|privacy|admin|agent [--queues a,b] [--agent-id X]',
  '       callrec user disable <name>',
  '       callrec user enable <name>',
  '       callrec user reset-password <name>',
  '       callrec user reset-mfa <name>',
  '       callrec user list',
].join('\n');

export function userJson(user: User): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    queues: user.queues,
    agentId: user.agentId,
    disabled: user.disabled,
    createdAt: new Date(user.createdAt).toISOString(),
  };
}

/** Runs a subcommand: AppErrors and argument errors become one stderr line and an exit code. */
export async function runCliAction(ctx: CliContext, usage: string, action: () => Promise<number>): Promise<number> {
  try {
    return await action();
  } catch (error) {
    if (isAppError(error)) {
      ctx.err(`callrec: ${error.detail ?? error.title}`);
      return 1;
    }
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      ctx.err(`callrec: ${(error as Error).message}\n${usage}`);
      return 2;
    }
    throw error;
  }
}

export const userCommand: CliCommand = {
  summary:
    'manage users: add <name> --role … [--queues a,b] [--agent-id X] | disable | enable | reset-password | ' +
    'reset-mfa <name> | list',
  run(args, ctx) {
    return runCliAction(ctx, USAGE, async () => {
      const [sub, ...rest] = args;
      switch (sub) {
        case 'add': {
          const { values, positionals } = parseCommandArgs(rest, {
            role: { type: 'string' },
            queues: { type: 'string' },
            'agent-id': { type: 'string' },
          });
          if (positionals.length !== 1 || !values.role) {
            ctx.err(USAGE);
            return 2;
          }
          if (!(ROLES as readonly string[]).includes(values.role)) {
            ctx.err(`callrec: --role must be one of ${ROLES.join(', ')}`);
            return 2;
          }
          const queues = values.queues === undefined ? null : parseQueueList(values.queues);
          const { user, password } = await createUser(ctx, {
            username: positionals[0]!,
            role: values.role,
            queues,
            agentId: values['agent-id'] ?? null,
          });
          ctx.out(password);
          const scope = queues ? `, queues ${queues.join(',')}` : user.agentId ? `, agent ${user.agentId}` : '';
          ctx.err(`created user ${user.username} (${user.role}${scope}); the password above is shown only once`);
          return 0;
        }
        case 'disable':
        case 'enable': {
          const { positionals } = parseCommandArgs(rest, {});
          if (positionals.length !== 1) {
            ctx.err(USAGE);
            return 2;
          }
          const user = await setDisabled(ctx, positionals[0]!, sub === 'disable');
          ctx.err(`user ${user.username} ${sub}d`);
          return 0;
        }
        case 'reset-password': {
          const { positionals } = parseCommandArgs(rest, {});
          if (positionals.length !== 1) {
            ctx.err(USAGE);
            return 2;
          }
          const { user, password } = await resetPassword(ctx, positionals[0]!);
          ctx.out(password);
          ctx.err(`new password for ${user.username} (shown only once); their sessions were ended`);
          return 0;
        }
        case 'reset-mfa': {
          const { positionals } = parseCommandArgs(rest, {});
          if (positionals.length !== 1) {
            ctx.err(USAGE);
            return 2;
          }
          const user = await resetMfa(ctx, positionals[0]!, { by: 'cli' });
          ctx.logger.warn({ username: user.username, by: 'cli' }, 'second factor reset');
          ctx.err(
            `second factor of ${user.username} removed; their sessions were ended and they enrol again at sign-in`,
          );
          return 0;
        }
        case 'list': {
          parseCommandArgs(rest, {});
          for (const user of await listUsers(ctx.db.knex)) ctx.out(JSON.stringify(userJson(user)));
          return 0;
        }
        default:
          ctx.err(USAGE);
          return 2;
      }
    });
  },
};
