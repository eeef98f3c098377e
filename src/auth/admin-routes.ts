/**
 * The administrators' API (role admin), the web counterpart of `callrec user …` and
 * `callrec token …` with the same rules (src/auth/accounts.ts):
 *
 * - `GET /v1/users` → `{items}`: every user, by username; never a password hash.
 * - `POST /v1/users` `{username, role, queues?, agentId?, displayName?}` → 201 `{user, password}`: the
 *   generated password is in this answer only. Role `agent` needs `agentId` (the agent the user is bound to).
 * - `PATCH /v1/users/:username` `{displayName?, queues?, agentId?, disabled?}` → the user (agentId: agents
 *   only). Disabling ends the user's sessions; their tokens stop at the next request. An administrator
 *   cannot disable their own account (409 `conflict`): nobody could enable it again from the UI.
 * - `POST /v1/users/:username/password` → `{user, password}`: a new generated password (shown
 *   once); the user's sessions end.
 * - `GET /v1/tokens?user=` → `{items}`: API tokens (never the token or its hash).
 * - `POST /v1/tokens` `{username, name?}` → 201 `{id, name, username, token}`: the token is in
 *   this answer only.
 * - `DELETE /v1/tokens/:id` → the token, revoked (idempotent).
 * Answers that carry a password or token are `Cache-Control: no-store`.
 */
import { Router } from 'express';
import type { Request } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../deps.js';
import { findApiTokensByIdOrName, listApiTokens } from '../db/api-tokens.js';
import type { ApiToken } from '../db/api-tokens.js';
import { findUserByUsername, listUsers } from '../db/users.js';
import type { User } from '../db/users.js';
import { errors } from '../errors.js';
import type { FieldProblem } from '../errors.js';
import {
  createApiToken,
  AGENT_ID_PATTERN,
  createUser,
  DISPLAY_NAME_MAX,
  QUEUE_PATTERN,
  resetPassword,
  revokeToken,
  setDisabled,
  TOKEN_NAME_PATTERN,
  updateUser,
  USERNAME_PATTERN,
} from './accounts.js';
import { createGuards } from './guard.js';
import { ROLES } from './principal.js';

const username = z.string().regex(USERNAME_PATTERN, 'expects a username: lowercase letters, digits, . _ -');
const queues = z
  .array(z.string().regex(QUEUE_PATTERN, 'expects queue names of letters, digits, . _ : @ - and space'))
  .min(1)
  .max(100)
  .nullable()
  .describe('Queues a trainer is limited to; null: every queue (trainers only)');
const displayName = z
  .string()
  .max(DISPLAY_NAME_MAX)
  // eslint-disable-next-line no-control-regex -- the pattern names the control characters a name may not hold
  .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'expects no control characters')
  .nullable()
  .describe('How the UI names the person; empty or null clears it');

const agentId = z
  .string()
  .regex(AGENT_ID_PATTERN, 'expects 1-128 letters, digits, spaces or . _ : @ / + -')
  .describe('The agent id (as recordings carry it) an agent is bound to; agents only');

/**
 * A new user: queues only with the trainer role, an agent id only (and always) with the agent role (three shapes,
 * so the document says so too).
 */
export const newUserBodySchema = z.union([
  z.strictObject({
    username,
    role: z.literal('trainer'),
    queues: queues.optional(),
    displayName: displayName.optional(),
  }),
  z.strictObject({
    username,
    role: z.literal('agent'),
    agentId,
    displayName: displayName.optional(),
  }),
  z.strictObject({
    username,
    role: z.enum(
      ROLES.filter((r) => r !== 'trainer' && r !== 'agent'),
      { message: `expects one of ${ROLES.join(', ')}` },
    ),
    queues: z.null().optional().describe('Queues apply only to trainers'),
    displayName: displayName.optional(),
  }),
]);
export const userChangeBodySchema = z.strictObject({
  displayName: displayName.optional(),
  queues: queues.optional(),
  agentId: agentId.optional(),
  disabled: z.boolean().optional(),
});
export const newTokenBodySchema = z.strictObject({
  username,
  name: z
    .string()
    .regex(TOKEN_NAME_PATTERN, 'expects 1-64 characters: letters, digits, . _ @ : - and space')
    .optional(),
});
export const tokenQuerySchema = z.strictObject({ user: username.optional() });

export const userSchema = z.object({
  username: z.string(),
  role: z.enum(ROLES),
  queues: z.array(z.string()).nullable(),
  agentId: z.string().nullable().describe('The agent an agent is bound to; null for every other role'),
  displayName: z.string().nullable(),
  disabled: z.boolean(),
  createdAt: z.string().describe('RFC 3339'),
});
export const userListSchema = z.object({ items: z.array(userSchema) });
export const userWithPasswordSchema = z.object({
  user: userSchema,
  password: z.string().describe('The generated password; shown only in this answer'),
});
export const tokenSchema = z.object({
  id: z.string(),
  username: z.string(),
  name: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export const tokenListSchema = z.object({ items: z.array(tokenSchema) });
export const newTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  username: z.string(),
  token: z.string().describe('The API token; shown only in this answer (only its sha256 is stored)'),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function userJson(user: User): z.infer<typeof userSchema> {
  return {
    username: user.username,
    role: user.role,
    queues: user.queues,
    agentId: user.agentId,
    displayName: user.displayName ?? null,
    disabled: user.disabled,
    createdAt: new Date(user.createdAt).toISOString(),
  };
}

function tokenJson(token: ApiToken): z.infer<typeof tokenSchema> {
  return {
    id: token.id,
    username: token.username,
    name: token.name,
    createdAt: iso(token.createdAt)!,
    lastUsedAt: iso(token.lastUsedAt),
    revokedAt: iso(token.revokedAt),
  };
}

function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : ((i as { keys?: string[] }).keys?.join(',') ?? ''),
    message: i.message,
  }));
}

function parseBody<T extends z.ZodType>(schema: T, req: Request): z.output<T> {
  if (!req.is('application/json')) throw errors.unsupportedMediaType('Send the body as application/json');
  const parsed = schema.safeParse(req.body);
  if (!parsed.success) throw errors.invalidRequest('Invalid body', { extra: { fields: fieldProblems(parsed.error) } });
  return parsed.data;
}

function parseQuery<T extends z.ZodType>(schema: T, req: Request): z.output<T> {
  const parsed = schema.safeParse(req.query);
  if (!parsed.success) throw errors.invalidQuery(fieldProblems(parsed.error));
  return parsed.data;
}

export function createAdminRouter(deps: AppDeps): Router {
  const router = Router();
  const guard = createGuards(deps).requireRole('admin');

  router.get('/v1/users', guard, async (req, res) => {
    parseQuery(z.strictObject({}), req);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ items: (await listUsers(deps.db.knex)).map(userJson) });
  });

  router.post('/v1/users', guard, async (req, res) => {
    const body = parseBody(newUserBodySchema, req);
    const { user, password } = await createUser(deps, {
      username: body.username,
      role: body.role,
      queues: 'queues' in body ? (body.queues ?? null) : null,
      agentId: 'agentId' in body ? body.agentId : null,
    });
    const withName = body.displayName ? await updateUser(deps, user.username, { displayName: body.displayName }) : user;
    res.setHeader('Cache-Control', 'no-store');
    res.status(201).json({ user: userJson(withName), password });
  });

  router.patch('/v1/users/:username', guard, async (req, res) => {
    const name = String(req.params.username);
    const body = parseBody(userChangeBodySchema, req);
    if (!(await findUserByUsername(deps.db.knex, name))) throw errors.notFound('User');
    if (body.disabled === true && name === req.principal?.username) {
      throw errors.conflict('you cannot disable your own account');
    }
    let user = await updateUser(deps, name, {
      displayName: body.displayName,
      queues: body.queues,
      agentId: body.agentId,
    });
    if (body.disabled !== undefined) user = { ...(await setDisabled(deps, name, body.disabled)), ...pick(user) };
    res.setHeader('Cache-Control', 'no-store');
    res.json(userJson(user));
  });

  router.post('/v1/users/:username/password', guard, async (req, res) => {
    parseQuery(z.strictObject({}), req);
    const { user, password } = await resetPassword(deps, String(req.params.username));
    res.setHeader('Cache-Control', 'no-store');
    res.json({ user: userJson(user), password });
  });

  router.get('/v1/tokens', guard, async (req, res) => {
    const q = parseQuery(tokenQuerySchema, req);
    let userId: string | undefined;
    if (q.user !== undefined) {
      const user = await findUserByUsername(deps.db.knex, q.user);
      if (!user) throw errors.notFound('User');
      userId = user.id;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json({ items: (await listApiTokens(deps.db.knex, { userId })).map(tokenJson) });
  });

  router.post('/v1/tokens', guard, async (req, res) => {
    const body = parseBody(newTokenBodySchema, req);
    const created = await createApiToken(deps, { username: body.username, name: body.name });
    res.setHeader('Cache-Control', 'no-store');
    res.status(201).json({ id: created.id, name: created.name, username: created.user.username, token: created.token });
  });

  router.delete('/v1/tokens/:id', guard, async (req, res) => {
    const id = String(req.params.id);
    const found = (await findApiTokensByIdOrName(deps.db.knex, id)).some((t) => t.id === id);
    if (!found) throw errors.notFound('Token');
    res.setHeader('Cache-Control', 'no-store');
    res.json(tokenJson(await revokeToken(deps, id)));
  });

  return router;
}

/** The fields `updateUser` may have changed, laid over the user `setDisabled` returns. */
function pick(user: User): Pick<User, 'displayName' | 'queues' | 'agentId'> {
  return { displayName: user.displayName, queues: user.queues, agentId: user.agentId };
}
