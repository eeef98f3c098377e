/**
 * Who may do what: the roles and the authenticated principal, shared by every layer (the db
 * modules store roles, the features check them). Plain types and one constant: no imports, so any
 * layer may depend on it. The authentication middleware (src/auth/) sets `req.principal`.
 */
export const ROLES = ['trainer', 'auditor', 'privacy', 'admin', 'agent'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  /** Queues a trainer is limited to; null means every queue. */
  readonly queues: readonly string[] | null;
  /**
   * The agent a user of role `agent` is bound to (`users.agent_id`, the recordings' `agentId`); null for
   * every other role. An agent sees only evaluations of their own calls, and those calls.
   */
  readonly agentId: string | null;
  readonly via: 'token' | 'session';
}
