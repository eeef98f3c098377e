/**
 * The table of CLI commands. Each feature adds its commands here, one line
 * each, implemented in its own module.
 */
import type { CliCommand } from './context.js';

export const commands: Record<string, CliCommand> = {};
