/**
 * First start on an empty database: creates the user `admin` (role admin)
 * with a generated password and prints it once. Does nothing when any user
 * exists; when two instances race, the unique username lets one win and the
 * other print nothing.
 */
import type { AppDeps } from '../deps.js';
import { countUsers } from '../db/users.js';
import { isAppError } from '../errors.js';
import { createUser } from './accounts.js';

export const BOOTSTRAP_USERNAME = 'admin';

export async function ensureBootstrapAdmin(
  deps: Pick<AppDeps, 'db' | 'clock' | 'logger'>,
  print: (line: string) => void,
): Promise<void> {
  if ((await countUsers(deps.db.knex)) > 0) return;
  let password: string;
  try {
    ({ password } = await createUser(deps, { username: BOOTSTRAP_USERNAME, role: 'admin' }));
  } catch (error) {
    if (isAppError(error) && error.code === 'conflict') return;
    throw error;
  }
  deps.logger.info({ username: BOOTSTRAP_USERNAME }, 'created the first admin user');
  print('No user existed, so an admin user was created:');
  print(`  username: ${BOOTSTRAP_USERNAME}`);
  print(`  password: ${password}`);
  print('This password is shown only once: store it now (create more users with `npm run -s callrec -- user add`).');
}
