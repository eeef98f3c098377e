/**
 * OpenID Connect sign-in through `openid-client`: the authorization code flow with PKCE (S256),
 * state and nonce; discovery and JWKS from CALLREC_OIDC_ISSUER. The ID token's signature
 * (always: `enableNonRepudiationChecks`), issuer, audience, nonce and lifetime are checked by
 * openid-client; a flow's state, nonce and
 * code verifier live in `oidc_flows`, keyed by the sha256 of a random id in a flow cookie, and
 * are used once.
 *
 * Roles come from the claim CALLREC_OIDC_ROLES_CLAIM (ID token, else userinfo) through
 * CALLREC_OIDC_ROLE_MAP (`mapRole`). Users are provisioned at their first sign-in and their role
 * updated at each; no mapped role → no session. A session signed in here keeps the provider's
 * tokens (sealed) and is re-checked at the provider (refresh token grant when a refresh token
 * was issued, else userinfo with the access token) once the last check is CALLREC_SESSION_IDLE
 * old: a failed check or a user whose groups no longer map to a role ends the session.
 *
 * openid-client refuses plain-http issuers; callrec allows them only for a loopback issuer
 * (127.0.0.0/8, ::1, localhost), which is what the tests run.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { ulid } from 'ulid';
import type { Clock } from '../clock.js';
import type { Config, OidcRoleMapping } from '../config.js';
import type { Db } from '../db/db.js';
import {
  deleteExpiredOidcFlows,
  findOidcSessionState,
  findUserByOidcSubject,
  insertOidcFlow,
  setOidcSessionState,
  setUserOidcSubject,
  setUserRole,
  takeOidcFlow,
} from '../db/oidc.js';
import { deleteUserSessions } from '../db/sessions.js';
import { findUserById, findUserByUsername, insertUser } from '../db/users.js';
import type { User } from '../db/users.js';
import type { Role } from '../domain/roles.js';
import type { Logger } from '../logger.js';
import { sha256Hex, USERNAME_PATTERN } from './accounts.js';
import { logSecurityEvent } from './security-log.js';
import { openSecret, sealSecret } from './totp.js';

/** A sign-in flow (from the redirect to the provider until the callback) must end within this. */
export const OIDC_FLOW_MS = 10 * 60_000;
/** Stored as the password hash of provisioned users: parses as no scrypt hash, so no password matches. */
export const NO_PASSWORD = '!oidc';

export type OidcConfig = NonNullable<Config['oidc']>;

export interface OidcDeps {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
}

/** Why a sign-in through the provider failed (logged; the browser only learns that it failed). */
export class OidcSignInError extends Error {
  override readonly name = 'OidcSignInError';
  constructor(
    readonly reason: 'flow_missing' | 'flow_expired' | 'provider_refused' | 'invalid_response' | 'no_role' | 'disabled',
    options: { cause?: unknown } = {},
  ) {
    super(reason, options);
  }
}

/**
 * The role a set of groups maps to: the first entry of the role map whose group the user is in;
 * for a trainer, the queues of every matching trainer entry together (null, every queue, when
 * one of them has no queue list). Undefined when no group maps.
 */
export function mapRole(
  roleMap: readonly OidcRoleMapping[],
  groups: readonly string[],
): { role: Role; queues: string[] | null } | undefined {
  const matching = roleMap.filter((m) => groups.includes(m.group));
  const first = matching[0];
  if (!first) return undefined;
  if (first.role !== 'trainer') return { role: first.role, queues: null };
  const trainers = matching.filter((m) => m.role === 'trainer');
  if (trainers.some((m) => m.queues === null)) return { role: 'trainer', queues: null };
  return { role: 'trainer', queues: [...new Set(trainers.flatMap((m) => m.queues ?? []))] };
}

/** The groups in a claim value: an array of strings, or one string. Anything else: none. */
export function groupsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** A username for a new provisioned user: from preferred_username/email/sub, made to fit USERNAME_PATTERN. */
export function usernameCandidate(claims: Record<string, unknown>): string {
  const raw = [claims.preferred_username, claims.email, claims.sub].find((v) => typeof v === 'string' && v) as string;
  const base = raw
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 56);
  return USERNAME_PATTERN.test(base) ? base : `sso-${createHash('sha256').update(raw).digest('hex').slice(0, 12)}`;
}

interface StoredTokens {
  sub: string;
  idToken: string | undefined;
  accessToken: string;
  refreshToken: string | undefined;
}

export interface OidcService {
  readonly name: string;
  /** Starts a sign-in: the provider URL to redirect to and the flow id for the flow cookie. */
  begin(options: { redirectUri: string; nextPath: string }): Promise<{ url: string; flowId: string }>;
  /**
   * Finishes a sign-in from the callback URL: checks it, provisions or updates the user and
   * returns them with the tokens to keep. Throws OidcSignInError.
   */
  finish(options: {
    flowId: string | undefined;
    callbackUrl: URL;
    requestId?: string;
    ip: string;
  }): Promise<{ user: User; nextPath: string; sealedTokens: string }>;
  /**
   * Re-checks a session at the provider when its last check is CALLREC_SESSION_IDLE old or
   * more; returns false when the session must end. Concurrent calls for one session share one check.
   */
  recheck(options: { idHash: string; userId: string; requestId?: string }): Promise<boolean>;
  /** The provider's end-session URL for this session (RP-initiated logout), if it has one. */
  logoutUrl(options: { idHash: string; userId: string; postLogoutRedirectUri: string }): Promise<string | undefined>;
}

const services = new WeakMap<OidcDeps, OidcService>();

/**
 * The one OIDC service of an app (per deps object, which app.ts hands to every feature), or
 * undefined when OIDC is not configured. One service keeps one discovery and JWKS cache.
 */
export function oidcServiceFor(deps: OidcDeps): OidcService | undefined {
  if (!deps.config.oidc) return undefined;
  let service = services.get(deps);
  if (!service) {
    service = createOidcService(deps, deps.config.oidc);
    services.set(deps, service);
  }
  return service;
}

export function createOidcService(deps: OidcDeps, oidc: OidcConfig): OidcService {
  let configuration: Promise<client.Configuration> | undefined;
  const inflight = new Map<string, Promise<boolean>>();

  const discover = (): Promise<client.Configuration> => {
    configuration ??= (async () => {
      const issuer = new URL(oidc.issuer);
      const insecureLoopback = issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname);
      const conf = await client.discovery(
        issuer,
        oidc.clientId,
        undefined,
        oidc.clientSecret === undefined ? client.None() : client.ClientSecretPost(oidc.clientSecret),
        insecureLoopback ? { execute: [client.allowInsecureRequests] } : undefined,
      );
      // Verify the ID token's signature against the issuer's JWKS even though it came straight from the
      // token endpoint (which OIDC Core would let a client skip): a forged token is refused, whatever the channel.
      client.enableNonRepudiationChecks(conf);
      return conf;
    })().catch((error: unknown) => {
      configuration = undefined; // try discovery again at the next sign-in
      throw error;
    });
    return configuration;
  };

  const sealOptions = (userId: string) => ({ userId, sessionSecret: deps.config.session.secret });

  /** The groups of the user: from the ID token's claims when it carries the claim, else from userinfo. */
  const groupsFor = async (
    conf: client.Configuration,
    claims: Record<string, unknown> | undefined,
    tokens: StoredTokens,
  ): Promise<string[]> => {
    if (claims && oidc.rolesClaim in claims) return groupsOf(claims[oidc.rolesClaim]);
    const info = await client.fetchUserInfo(conf, tokens.accessToken, tokens.sub);
    return groupsOf((info as Record<string, unknown>)[oidc.rolesClaim]);
  };

  /** Applies a role mapping to a user: updates role and queues when they changed (security log `role_changed`). */
  const applyRole = async (
    user: User,
    mapped: { role: Role; queues: string[] | null },
    options: { requestId?: string; at: 'sign_in' | 'recheck' },
  ): Promise<User> => {
    const sameQueues = JSON.stringify(user.queues) === JSON.stringify(mapped.queues);
    if (user.role === mapped.role && sameQueues) return user;
    await setUserRole(deps.db.knex, user.id, mapped.role, mapped.queues);
    await logSecurityEvent(deps, {
      action: 'role_changed',
      user: { ...user, role: mapped.role },
      requestId: options.requestId,
      detail: {
        from: user.role,
        to: mapped.role,
        queues: mapped.queues === null ? null : mapped.queues,
        by: 'oidc',
        at: options.at,
      },
    });
    deps.logger.info(
      { username: user.username, from: user.role, to: mapped.role },
      'role changed by the identity provider',
    );
    return { ...user, role: mapped.role, queues: mapped.queues };
  };

  /** A user whose groups no longer map: their sessions end, and the change is in the security log. */
  const revokeRole = async (user: User, requestId: string | undefined, at: 'sign_in' | 'recheck') => {
    await deleteUserSessions(deps.db.knex, user.id);
    await logSecurityEvent(deps, {
      action: 'role_changed',
      user,
      requestId,
      detail: { from: user.role, to: null, by: 'oidc', at },
    });
    deps.logger.warn({ username: user.username }, 'identity provider groups no longer map to a role: sessions ended');
  };

  const provision = async (
    subject: string,
    claims: Record<string, unknown>,
    mapped: { role: Role; queues: string[] | null },
  ) => {
    const candidate = usernameCandidate(claims);
    return deps.db.knex.transaction(async (trx) => {
      const taken = await findUserByUsername(trx, candidate);
      const username = taken
        ? `${candidate.slice(0, 50)}-${createHash('sha256').update(subject).digest('hex').slice(0, 8)}`
        : candidate;
      const now = deps.clock.now();
      const user = await insertUser(trx, {
        id: ulid(now),
        username,
        role: mapped.role,
        passwordHash: NO_PASSWORD,
        queues: mapped.queues,
        createdAt: now,
      });
      await setUserOidcSubject(trx, user.id, subject);
      return user;
    });
  };

  return {
    name: oidc.name,

    async begin({ redirectUri, nextPath }) {
      const conf = await discover();
      const flowId = randomBytes(32).toString('base64url');
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const now = deps.clock.now();
      await deleteExpiredOidcFlows(deps.db.knex, now);
      await insertOidcFlow(deps.db.knex, sha256Hex(flowId), {
        state,
        nonce,
        codeVerifier,
        nextPath,
        expiresAt: now + OIDC_FLOW_MS,
      });
      const url = client.buildAuthorizationUrl(conf, {
        redirect_uri: redirectUri,
        scope: oidc.scopes,
        response_type: 'code',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url: url.href, flowId };
    },

    async finish({ flowId, callbackUrl, requestId, ip }) {
      if (flowId === undefined) throw new OidcSignInError('flow_missing');
      const flow = await takeOidcFlow(deps.db.knex, sha256Hex(flowId));
      if (!flow) throw new OidcSignInError('flow_missing');
      if (deps.clock.now() >= flow.expiresAt) throw new OidcSignInError('flow_expired');
      const conf = await discover();
      let response: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        response = await client.authorizationCodeGrant(conf, callbackUrl, {
          pkceCodeVerifier: flow.codeVerifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        const refused = error instanceof client.AuthorizationResponseError;
        throw new OidcSignInError(refused ? 'provider_refused' : 'invalid_response', { cause: error });
      }
      const claims = response.claims() as Record<string, unknown> | undefined;
      if (!claims || typeof claims.sub !== 'string') throw new OidcSignInError('invalid_response');
      const tokens: StoredTokens = {
        sub: claims.sub,
        idToken: response.id_token,
        accessToken: response.access_token,
        refreshToken: response.refresh_token,
      };
      let groups: string[];
      try {
        groups = await groupsFor(conf, claims, tokens);
      } catch (error) {
        throw new OidcSignInError('invalid_response', { cause: error });
      }
      const subject = `${String(claims.iss)} ${claims.sub}`;
      const mapped = mapRole(oidc.roleMap, groups);
      const existing = await findUserByOidcSubject(deps.db.knex, subject);
      if (!mapped) {
        if (existing) await revokeRole(existing, requestId, 'sign_in');
        throw new OidcSignInError('no_role');
      }
      let user: User;
      if (existing) {
        if (existing.disabled) throw new OidcSignInError('disabled');
        user = await applyRole(existing, mapped, { requestId, at: 'sign_in' });
      } else {
        user = await provision(subject, claims, mapped);
        deps.logger.info({ username: user.username, role: user.role }, 'user provisioned by the identity provider');
      }
      await logSecurityEvent(deps, { action: 'sign_in', user, requestId, detail: { method: 'oidc', ip } });
      return { user, nextPath: flow.nextPath, sealedTokens: sealSecret(JSON.stringify(tokens), sealOptions(user.id)) };
    },

    recheck({ idHash, userId, requestId }) {
      const running = inflight.get(idHash);
      if (running) return running;
      const check = (async (): Promise<boolean> => {
        const state = await findOidcSessionState(deps.db.knex, idHash);
        if (!state?.sealedTokens) return true;
        const now = deps.clock.now();
        if (state.checkedAt !== null && now - state.checkedAt < deps.config.session.idleMs) return true;
        const opened = openSecret(state.sealedTokens, sealOptions(userId));
        const user = await findUserById(deps.db.knex, userId);
        if (!opened || !user) return false;
        let tokens = JSON.parse(opened) as StoredTokens;
        let groups: string[];
        try {
          const conf = await discover();
          let claims: Record<string, unknown> | undefined;
          if (tokens.refreshToken) {
            const refreshed = await client.refreshTokenGrant(conf, tokens.refreshToken);
            claims = refreshed.claims() as Record<string, unknown> | undefined;
            if (claims && claims.sub !== tokens.sub) return false;
            tokens = {
              sub: tokens.sub,
              idToken: refreshed.id_token ?? tokens.idToken,
              accessToken: refreshed.access_token,
              refreshToken: refreshed.refresh_token ?? tokens.refreshToken,
            };
          }
          groups = await groupsFor(conf, claims, tokens);
        } catch (error) {
          deps.logger.warn(
            {
              requestId,
              username: user.username,
              err: { name: (error as Error).name, code: (error as { code?: string }).code },
            },
            'identity provider re-check failed: session ended',
          );
          return false;
        }
        const mapped = mapRole(oidc.roleMap, groups);
        if (!mapped) {
          await revokeRole(user, requestId, 'recheck');
          return false;
        }
        await applyRole(user, mapped, { requestId, at: 'recheck' });
        await setOidcSessionState(deps.db.knex, idHash, {
          sealedTokens: sealSecret(JSON.stringify(tokens), sealOptions(userId)),
          checkedAt: now,
        });
        return true;
      })().finally(() => inflight.delete(idHash));
      inflight.set(idHash, check);
      return check;
    },

    async logoutUrl({ idHash, userId, postLogoutRedirectUri }) {
      const state = await findOidcSessionState(deps.db.knex, idHash);
      if (!state?.sealedTokens) return undefined;
      const opened = openSecret(state.sealedTokens, sealOptions(userId));
      try {
        const conf = await discover();
        if (!conf.serverMetadata().end_session_endpoint) return undefined;
        const tokens = opened ? (JSON.parse(opened) as StoredTokens) : undefined;
        return client.buildEndSessionUrl(conf, {
          client_id: oidc.clientId,
          post_logout_redirect_uri: postLogoutRedirectUri,
          ...(tokens?.idToken ? { id_token_hint: tokens.idToken } : {}),
        }).href;
      } catch {
        return undefined;
      }
    },
  };
}
