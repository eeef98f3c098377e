/** Who is asking: set on `req.principal` by the authentication middleware. */
import type { Principal } from '../domain/roles.js';

export { ROLES } from '../domain/roles.js';
export type { Principal, Role } from '../domain/roles.js';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}
