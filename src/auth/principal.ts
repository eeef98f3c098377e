/** Who is asking: set on `req.principal` by the authentication middleware. */
export const ROLES = ['trainer', 'auditor', 'privacy', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  /** Queues a trainer is limited to; null means every queue. */
  readonly queues: readonly string[] | null;
  readonly via: 'token' | 'session';
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}
