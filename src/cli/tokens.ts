/**
 * `callrec token …`: create, revoke, list.
 *
 * - `token create <username> [--name label]` prints ONLY the new token on stdout
 *   (shown once; only its sha256 is stored).
 * - `token revoke <token-id-or-name>`: idempotent; a name shared by several
 *   live tokens is refused (revoke by id).
 * - `token list [username]`: one JSON object per line, never a token or hash.
 * Errors go to stderr with exit code 1 (2 for usage errors).
 */
import { createApiToken, revokeToken } from '../auth/accounts.js';
import { listApiTokens } from '../db/api-tokens.js';
import type { ApiToken } from '../db/api-tokens.js';
import { findUserByUsername } from '../db/users.js';
import { errors } from '../errors.js';
import { parseCommandArgs } from './context.js';
import type { CliCommand } from './context.js';
import { runCliAction } from './users.js';

const USAGE = [
  'usage: callrec token create <username> [--name label]',
  '       callrec token revoke <token-id-or-name>',
  '       callrec token list [username]',
].join('\n');

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function tokenJson(token: ApiToken): Record<string, unknown> {
  return {
    id: token.id,
    username: token.username,
    name: token.name,
    createdAt: iso(token.createdAt),
    lastUsedAt: iso(token.lastUsedAt),
    revokedAt: iso(token.revokedAt),
  };
}

export const tokenCommand: CliCommand = {
  summary: 'manage API tokens: create <username> [--name label] | revoke <id-or-name> | list [username]',
  run(args, ctx) {
    return runCliAction(ctx, USAGE, async () => {
      const [sub, ...rest] = args;
      switch (sub) {
        case 'create': {
          const { values, positionals } = parseCommandArgs(rest, { name: { type: 'string' } });
          if (positionals.length !== 1) {
            ctx.err(USAGE);
            return 2;
          }
          const created = await createApiToken(ctx, { username: positionals[0]!, name: values.name });
          ctx.out(created.token);
          ctx.err(`created token ${created.id} (${created.name}) for ${created.user.username}; it is shown only once`);
          return 0;
        }
        case 'revoke': {
          const { positionals } = parseCommandArgs(rest, {});
          if (positionals.length !== 1) {
            ctx.err(USAGE);
            return 2;
          }
          const token = await revokeToken(ctx, positionals[0]!);
          ctx.err(`token ${token.id} (${token.name}) of ${token.username} revoked`);
          return 0;
        }
        case 'list': {
          const { positionals } = parseCommandArgs(rest, {});
          if (positionals.length > 1) {
            ctx.err(USAGE);
            return 2;
          }
          let userId: string | undefined;
          if (positionals[0] !== undefined) {
            const user = await findUserByUsername(ctx.db.knex, positionals[0]);
            if (!user) throw errors.notFound('User');
            userId = user.id;
          }
          for (const token of await listApiTokens(ctx.db.knex, { userId })) ctx.out(JSON.stringify(tokenJson(token)));
          return 0;
        }
        default:
          ctx.err(USAGE);
          return 2;
      }
    });
  },
};
