/**
 * One error type for everything a client may be told.
 *
 * An AppError carries a stable string `code` (part of the HTTP contract), the
 * HTTP status, a human title, and the underlying `cause`, which is logged for
 * 5xx but never sent to a client. Create them only through the factories in
 * `errors` below, so that each code has exactly one status and title.
 */
export interface AppErrorOptions {
  cause?: unknown;
  /** A client-safe sentence about this occurrence (never a storage or database message). */
  detail?: string;
  /** Extra problem members, e.g. `fields` for invalid metadata. Must be client-safe. */
  extra?: Record<string, unknown>;
  /** Response headers, e.g. Retry-After or Content-Range. */
  headers?: Record<string, string>;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly detail: string | undefined;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: string,
    readonly status: number,
    readonly title: string,
    options: AppErrorOptions = {},
  ) {
    super(options.detail ? `${title}: ${options.detail}` : title, { cause: options.cause });
    this.detail = options.detail;
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

export interface FieldProblem {
  field: string;
  message: string;
}

type Opts = AppErrorOptions;

/** Retry-After of 507 `insufficient_storage`: freeing space takes an operator, not a moment. */
export const INSUFFICIENT_STORAGE_RETRY_AFTER_S = 60;

/** The table of error factories: one per stable code. */
/** A 503 factory whose answer says, in Retry-After, when to try again. */
function retryLater(code: string, title: string) {
  return (retryAfterSeconds: number, o: Opts = {}) =>
    new AppError(code, 503, title, { ...o, headers: { 'Retry-After': String(retryAfterSeconds), ...o.headers } });
}

export const errors = {
  // 400
  invalidRequest: (detail: string, o: Opts = {}) =>
    new AppError('invalid_request', 400, 'Invalid request', { ...o, detail }),
  invalidMetadata: (fields: FieldProblem[], o: Opts = {}) =>
    new AppError('invalid_metadata', 400, 'Invalid metadata', {
      ...o,
      detail: `Invalid fields: ${fields.map((f) => f.field).join(', ')}`,
      extra: { fields },
    }),
  invalidQuery: (fields: FieldProblem[], o: Opts = {}) =>
    new AppError('invalid_query', 400, 'Invalid query', { ...o, extra: { fields } }),
  // 401
  invalidSignature: (o: Opts = {}) => new AppError('invalid_signature', 401, 'Invalid signature', o),
  staleTimestamp: (o: Opts = {}) => new AppError('stale_timestamp', 401, 'Stale timestamp', o),
  unknownSource: (o: Opts = {}) => new AppError('unknown_source', 401, 'Unknown source', o),
  unauthenticated: (o: Opts = {}) =>
    new AppError('unauthenticated', 401, 'Authentication required', {
      ...o,
      headers: { 'WWW-Authenticate': 'Bearer realm="callrec"', ...o.headers },
    }),
  invalidCredentials: (o: Opts = {}) => new AppError('invalid_credentials', 401, 'Invalid username or password', o),
  invalidCode: (o: Opts = {}) => new AppError('invalid_code', 401, 'Invalid code', o),
  // 403
  forbidden: (o: Opts = {}) => new AppError('forbidden', 403, 'Forbidden', o),
  originMismatch: (o: Opts = {}) => new AppError('origin_mismatch', 403, 'Cross-origin request refused', o),
  secondFactorRequired: (stage: 'code' | 'enrol', o: Opts = {}) =>
    new AppError('second_factor_required', 403, 'Second factor required', {
      detail:
        stage === 'enrol'
          ? 'this account needs a second factor: enrol one first (POST /v1/session/enrolment)'
          : 'enter the code from your authenticator app (POST /v1/session/code)',
      ...o,
      extra: { next: stage, ...o.extra },
    }),
  // 404
  notFound: (what = 'Resource', o: Opts = {}) => new AppError('not_found', 404, `${what} not found`, o),
  // 405
  methodNotAllowed: (allow: readonly string[], o: Opts = {}) =>
    new AppError('method_not_allowed', 405, 'Method not allowed', {
      ...o,
      detail: `This path answers ${allow.join(', ')}`,
      headers: { Allow: allow.join(', '), ...o.headers },
    }),
  // 408
  requestTimeout: (detail: string, o: Opts = {}) =>
    new AppError('request_timeout', 408, 'Request body too slow', { ...o, detail }),
  // 409
  duplicateCallId: (o: Opts = {}) =>
    new AppError('duplicate_call_id', 409, 'A recording with this callId but other audio exists', o),
  conflict: (detail: string, o: Opts = {}) => new AppError('conflict', 409, 'Conflict', { ...o, detail }),
  onLegalHold: (o: Opts = {}) => new AppError('legal_hold', 409, 'The recording is under legal hold', o),
  requestClosed: (o: Opts = {}) => new AppError('request_closed', 409, 'The privacy request is closed', o),
  extensionNotAllowed: (detail: string, o: Opts = {}) =>
    new AppError('extension_not_allowed', 409, 'The deadline cannot be extended', { ...o, detail }),
  notInRequest: (o: Opts = {}) =>
    new AppError('not_in_request', 409, 'The phone number is not one of the privacy request', {
      ...o,
      detail: 'Act under a request only for its own numbers; add a request for this number',
    }),
  // 411, 413, 415, 416, 422
  lengthRequired: (detail: string, o: Opts = {}) =>
    new AppError('length_required', 411, 'Length required', { ...o, detail }),
  tooLarge: (detail: string, o: Opts = {}) => new AppError('too_large', 413, 'Payload too large', { ...o, detail }),
  unsupportedAudio: (detail: string, o: Opts = {}) =>
    new AppError('unsupported_audio', 415, 'Unsupported audio', { ...o, detail }),
  /** The bytes cannot be the headerless format the upload declared (`audioFormat`). */
  audioFormatMismatch: (detail: string, o: Opts = {}) =>
    new AppError('audio_format_mismatch', 415, 'The audio does not match its declared format', { ...o, detail }),
  unsupportedMediaType: (detail: string, o: Opts = {}) =>
    new AppError('unsupported_media_type', 415, 'Unsupported media type', { ...o, detail }),
  rangeNotSatisfiable: (size: number, o: Opts = {}) =>
    new AppError('range_not_satisfiable', 416, 'Range not satisfiable', {
      ...o,
      headers: { 'Content-Range': `bytes */${size}`, ...o.headers },
    }),
  retentionElapsed: (o: Opts = {}) =>
    new AppError('retention_elapsed', 422, 'The retention period of this call has already elapsed', o),
  receivedInFuture: (o: Opts = {}) => new AppError('received_in_future', 422, 'receivedAt lies in the future', o),
  /** A schema-valid form that contradicts itself (a repeated question id or choice value). */
  invalidForm: (fields: FieldProblem[], o: Opts = {}) =>
    new AppError('invalid_form', 422, 'The form contradicts itself', { ...o, extra: { fields } }),
  /** Schema-valid answers or comments that do not fit the evaluation's form version or call. */
  answersMismatch: (fields: FieldProblem[], o: Opts = {}) =>
    new AppError('answers_mismatch', 422, 'The answers do not fit the form', { ...o, extra: { fields } }),
  /** A schema-valid period that is empty or longer than a request may cover (the fields say which). */
  invalidPeriod: (fields: FieldProblem[], o: Opts = {}) =>
    new AppError('invalid_period', 422, 'The period is empty or too long', { ...o, extra: { fields } }),
  // 429
  rateLimited: (retryAfterSeconds: number, o: Opts = {}) =>
    new AppError('rate_limited', 429, 'Too many requests', {
      ...o,
      headers: { 'Retry-After': String(retryAfterSeconds), ...o.headers },
    }),
  // 5xx
  internal: (o: Opts = {}) => new AppError('internal', 500, 'Internal server error', o),
  /**
   * Stored bytes failed authentication (damaged, truncated, swapped) or their data key was shredded: nothing was sent.
   */
  integrity: (o: Opts = {}) => new AppError('integrity', 500, 'Stored data failed its integrity check', o),
  overloaded: retryLater('overloaded', 'Service overloaded'),
  tooManyUnverified: retryLater('too_many_unverified', 'Too many unverified uploads in flight'),
  shuttingDown: retryLater('shutting_down', 'Service shutting down'),
  storeUnavailable: (o: Opts = {}) =>
    new AppError('store_unavailable', 503, 'Object storage unavailable', {
      ...o,
      headers: { 'Retry-After': '5', ...o.headers },
    }),
  /**
   * A disk the service writes to is full (temp files, the object store, the database): 507,
   * with Retry-After as a hint; nothing of the request was kept. /readyz reports it too.
   */
  insufficientStorage: (o: Opts = {}) =>
    new AppError('insufficient_storage', 507, 'Insufficient storage', {
      ...o,
      headers: { 'Retry-After': String(INSUFFICIENT_STORAGE_RETRY_AFTER_S), ...o.headers },
    }),
  /** An import source (an S3 drop bucket) could not be listed, read or written: retried later. */
  sourceUnavailable: (detail: string, o: Opts = {}) =>
    new AppError('source_unavailable', 503, 'Import source unavailable', { ...o, detail }),
  /** A stored recording's source object could not be deleted, or is still there after its delete: retried later. */
  sourceNotDeleted: (detail: string, o: Opts = {}) =>
    new AppError('source_not_deleted', 503, 'Source object not deleted', { ...o, detail }),
  dbUnavailable: (o: Opts = {}) =>
    new AppError('db_unavailable', 503, 'Database unavailable', {
      ...o,
      headers: { 'Retry-After': '5', ...o.headers },
    }),
} as const;
