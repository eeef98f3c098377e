/**
 * `callrec import …` (S3 drop-bucket sources) and `callrec imports list` (their imports).
 *
 * - `import add-s3 --name N --bucket B --layout amazon-connect|sidecar-json [--endpoint URL]
 *   [--region R] [--prefix P] [--delete-source] [--path-style true|false] [--sidecar-wait 2m]`
 *   prints ONLY the event-webhook secret on stdout (shown once; only its sha256 is stored).
 * - `import list-sources`: one JSON object per line, never a secret.
 * - `import remove N`: the source and its import rows (recordings stay).
 * Errors go to stderr with exit code 1 (2 for usage errors).
 */
import { addDropSource, listDropSources, removeDropSource } from '../ingest/index.js';
import { parseCommandArgs } from './context.js';
import type { CliCommand } from './context.js';
import { runCliAction } from './users.js';

const IMPORT_USAGE = [
  'usage: callrec import add-s3 --name <name> --bucket <bucket> --layout amazon-connect|sidecar-json',
  '         [--endpoint <url>] [--region <region>] [--prefix <prefix>] [--delete-source]',
  '         [--path-style true|false] [--sidecar-wait <duration>]',
  '       callrec import list-sources',
  '       callrec import remove <name>',
].join('\n');

export const importCommand: CliCommand = {
  summary: 'S3 drop-bucket sources: add-s3 --name … --bucket … --layout … | list-sources | remove <name>',
  run(args, ctx) {
    return runCliAction(ctx, IMPORT_USAGE, async () => {
      const [sub, ...rest] = args;
      switch (sub) {
        case 'add-s3': {
          const { values, positionals } = parseCommandArgs(rest, {
            name: { type: 'string' },
            endpoint: { type: 'string' },
            region: { type: 'string' },
            bucket: { type: 'string' },
            prefix: { type: 'string' },
            layout: { type: 'string' },
            'delete-source': { type: 'boolean' },
            'path-style': { type: 'string' },
            'sidecar-wait': { type: 'string' },
          });
          if (positionals.length > 0 || !values.name || !values.bucket || !values.layout) {
            ctx.err(IMPORT_USAGE);
            return 2;
          }
          const { source, secret } = await addDropSource(
            { db: ctx.db, config: ctx.config, now: ctx.clock.now() },
            {
              name: values.name,
              endpoint: values.endpoint,
              region: values.region,
              bucket: values.bucket,
              prefix: values.prefix,
              layout: values.layout,
              deleteSource: values['delete-source'] === true,
              pathStyle: values['path-style'],
              sidecarWait: values['sidecar-wait'],
            },
          );
          ctx.out(secret);
          ctx.err(
            `added import source ${source.name} (${source.layout}); the webhook secret above is shown only once: ` +
              `POST /v1/hooks/s3-events/${source.name} with Authorization: Bearer <secret>`,
          );
          if (!source.delete_source)
            ctx.err('warning: without --delete-source the platform keeps its copy of every recording');
          return 0;
        }
        case 'list-sources': {
          parseCommandArgs(rest, {});
          for (const source of await listDropSources(ctx.db)) ctx.out(JSON.stringify(source));
          return 0;
        }
        case 'remove': {
          const { positionals } = parseCommandArgs(rest, {});
          if (positionals.length !== 1) {
            ctx.err(IMPORT_USAGE);
            return 2;
          }
          await removeDropSource(ctx.db, positionals[0]!);
          ctx.err(`import source ${positionals[0]} removed`);
          return 0;
        }
        default:
          ctx.err(IMPORT_USAGE);
          return 2;
      }
    });
  },
};
