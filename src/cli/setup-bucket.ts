/**
 * `callrec setup-bucket`: creates the S3 bucket if missing, installs and verifies the lifecycle
 * rules for the configured retention, and checks versioning against CALLREC_S3_VERSIONED.
 * Reports what it did on stderr; exit 0 when the bucket is ready, 1 otherwise. Idempotent.
 */
import type { CliCommand } from './context.js';
import { parseCommandArgs } from './context.js';

export const setupBucketCommand: CliCommand = {
  summary: 'create the S3 bucket, install the lifecycle rules, check versioning',
  async run(args, ctx) {
    parseCommandArgs(args, {});
    const setUp = ctx.store.upkeep?.setUp;
    if (!setUp) {
      ctx.err(
        `setup-bucket: the object store (CALLREC_STORE=${ctx.config.store.kind}) has no bucket; nothing to set up`,
      );
      return 0;
    }
    try {
      const report = await setUp({ retentionDays: ctx.config.retention.days });
      ctx.err(`bucket ${report.bucket}: ${report.created ? 'created' : 'exists'}`);
      ctx.err(`lifecycle: ${report.lifecycle} (rules: ${report.rules.join(', ')})`);
      if (report.abortIncompleteMultipart === 'unsupported') {
        ctx.err(
          'lifecycle: the server refused the AbortIncompleteMultipartUpload rule (MinIO cleans stale uploads itself)',
        );
      }
      ctx.err(
        report.versioning === 'Disabled'
          ? 'versioning: disabled'
          : `versioning: ${report.versioning.toLowerCase()}; deletes remove every version ` +
              `(CALLREC_S3_VERSIONED=delete-versions)`,
      );
      return 0;
    } catch (error) {
      ctx.err(`setup-bucket failed: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
  },
};
