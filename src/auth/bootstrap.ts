/**
 * First start on an empty database: creates an `admin` user and prints its
 * password once. Placeholder until the auth work lands.
 */
import type { AppDeps } from '../deps.js';

export async function ensureBootstrapAdmin(_deps: AppDeps, _print: (line: string) => void): Promise<void> {}
