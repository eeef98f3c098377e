/**
 * The `callrec` command. Output meant for scripts goes to stdout alone;
 * messages go to stderr. Each command lives in its own module and receives the
 * assembled dependencies.
 */
import { ConfigError, loadConfigFromEnvironment } from '../config.js';
import { createCliContext } from './context.js';
import type { CliCommand } from './context.js';
import { commands } from './commands.js';

function usage(): string {
  return [
    'usage: callrec <command> [options]',
    '',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command: CliCommand | undefined = name ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`${usage()}\n`);
    return name && name !== '--help' && name !== 'help' ? 2 : 0;
  }
  let config;
  try {
    config = loadConfigFromEnvironment();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`callrec: invalid configuration: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const ctx = await createCliContext(config);
  try {
    return await command.run(args, ctx);
  } finally {
    await ctx.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`callrec: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
