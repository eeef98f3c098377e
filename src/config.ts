/**
 * Configuration: one zod schema for every CALLREC_* setting.
 *
 * This is the only module that reads the environment (it is handed `process.env`
 * by `main.ts` and the CLI). `loadConfig` validates, derives, freezes and returns
 * a Config; anything invalid throws a ConfigError whose message is one line
 * naming the variable and what it expects.
 */
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { ROLES } from './domain/roles.js';

/**
 * Roles single sign-on may grant. Not `agent`: an agent is bound to an agent id, which the provider's groups do not
 * carry; agents are local users (`callrec user add --role agent --agent-id X`).
 */
const OIDC_ROLES: readonly string[] = ROLES.filter((r) => r !== 'agent');
import type { Role } from './domain/roles.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const DAY_MS = UNIT_MS.d;

/** Parses `90s`, `12h`, `30d`, `250ms`, `5m` into milliseconds; returns undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return value > 0 ? value : undefined;
}

const duration = (what: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expects a duration such as 90s, 12h or 30d (${what})` });
      return z.NEVER;
    }
    return ms;
  });

/**
 * A retention period in calendar years (`2y`: closed on local date D, kept through D + 2 years
 * on the Europe/Amsterdam calendar) or as an exact duration (`90s`, `12h`, `30d`, …).
 */
export type RetentionPeriod = { readonly years: number } | { readonly ms: number };

/** Parses `2y` (calendar years) or any `parseDuration` text; undefined when malformed or zero. */
export function parseRetentionPeriod(text: string): RetentionPeriod | undefined {
  const years = /^(\d{1,3})y$/.exec(text.trim());
  if (years) return Number(years[1]) > 0 ? { years: Number(years[1]) } : undefined;
  const ms = parseDuration(text);
  return ms === undefined ? undefined : { ms };
}

const retentionPeriod = (what: string) =>
  z.string().transform((text, ctx) => {
    const period = parseRetentionPeriod(text);
    if (period === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expects calendar years such as 2y, or a duration such as 30d (${what})`,
      });
      return z.NEVER;
    }
    return period;
  });

const RATE_UNITS = { B: 1, KiB: 1024, MiB: 1024 ** 2 } as const;

/** Parses `32KiB/s`, `1MiB/s`, `65536` (bytes per second) into bytes per second; undefined when malformed. */
export function parseByteRate(text: string): number | undefined {
  const match = /^(\d{1,12})(B|KiB|MiB)?(\/s)?$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * RATE_UNITS[(match[2] ?? 'B') as keyof typeof RATE_UNITS];
}

const byteRate = (what: string) =>
  z.string().transform((text, ctx) => {
    const rate = parseByteRate(text);
    if (rate === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expects a rate such as 32KiB/s, 1MiB/s or 65536 bytes per second, 0 for none (${what})`,
      });
      return z.NEVER;
    }
    return rate;
  });

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `expects a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `expects a whole number from ${min} to ${max}`)
        .max(max, `expects a whole number from ${min} to ${max}`),
    );

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const SOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const ingestSources = z.string().transform((text, ctx) => {
  const sources: Record<string, string> = {};
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const colon = pair.indexOf(':');
    const id = pair.slice(0, colon);
    const secret = pair.slice(colon + 1);
    if (colon < 1 || !SOURCE_ID.test(id) || secret.length < 16) {
      ctx.addIssue({
        code: 'custom',
        message: 'expects source:secret pairs separated by commas (source id [A-Za-z0-9._-], secret of 16+ characters)',
      });
      return z.NEVER;
    }
    sources[id] = secret;
  }
  return sources;
});

/** `source:left|right` pairs: which stereo channel holds the agent, per source (default left). */
const agentChannels = z.string().transform((text, ctx) => {
  const channels: Record<string, 'left' | 'right'> = {};
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [id = '', channel, ...rest] = pair.split(':');
    if (!SOURCE_ID.test(id) || (channel !== 'left' && channel !== 'right') || rest.length > 0) {
      ctx.addIssue({ code: 'custom', message: 'expects source:left or source:right pairs separated by commas' });
      return z.NEVER;
    }
    channels[id] = channel;
  }
  return channels;
});

/**
 * Credentials of S3 drop buckets by endpoint: `<endpoint origin>=<access key id>:<secret key>`
 * entries separated by commas (`aws` names AWS itself, a source without an endpoint).
 */
const importS3Credentials = z.string().transform((text, ctx) => {
  const credentials: Record<string, { accessKeyId: string; secretAccessKey: string }> = {};
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const equals = entry.indexOf('=');
    const colon = entry.indexOf(':', equals + 1);
    const endpoint = endpointKey(entry.slice(0, equals));
    const accessKeyId = entry.slice(equals + 1, colon);
    const secretAccessKey = entry.slice(colon + 1);
    if (equals < 1 || colon < 0 || endpoint === undefined || accessKeyId === '' || secretAccessKey === '') {
      ctx.addIssue({
        code: 'custom',
        message:
          'expects <endpoint URL or aws>=<access key id>:<secret access key> entries separated by commas, e.g. ' +
          'http://10.0.0.5:9000=AKIA…:secret',
      });
      return z.NEVER;
    }
    credentials[endpoint] = { accessKeyId, secretAccessKey };
  }
  return credentials;
});

/**
 * The key an S3 endpoint's credentials are found under: the URL's origin (`http://host:port`), or
 * `aws` for AWS itself (no endpoint). Undefined when `endpoint` is neither.
 */
export function endpointKey(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined || endpoint === 'aws') return 'aws';
  try {
    const url = new URL(endpoint);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** Names Express's `trust proxy` understands for address ranges. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One trusted-proxy entry: an IP address, a CIDR range (`10.0.0.0/8`, `fd00::/8`) or a range name. */
export function isProxyEntry(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = net.isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const trustedProxies = z.string().transform((text, ctx) => {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (!entries.every(isProxyEntry)) {
    ctx.addIssue({
      code: 'custom',
      message:
        'expects IP addresses, CIDR ranges (10.0.0.0/8) or loopback, linklocal, uniquelocal, separated by commas',
    });
    return z.NEVER;
  }
  return entries;
});

/** The environment as the schema sees it: every variable optional, defaults applied in `loadConfig`. */
/** True for a time zone this runtime's Intl knows (e.g. `Europe/Amsterdam`). */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const envSchema = z.object({
  CALLREC_PORT: integer(0, 65535).default(3000),
  CALLREC_HOST: z.string().min(1).default('127.0.0.1'),
  CALLREC_PUBLIC_URL: z.url({ message: 'expects an absolute URL such as https://callrec.example.com' }).optional(),
  CALLREC_TRUSTED_PROXIES: trustedProxies.optional(),
  CALLREC_DATA_DIR: z.string().min(1).default('./storage'),
  CALLREC_MIN_FREE_BYTES: integer(0, Number.MAX_SAFE_INTEGER).default(256 * 1024 ** 2),
  CALLREC_DB_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:)/, 'expects postgres://user:pass@host:port/db or sqlite:<file>')
    .optional(),
  CALLREC_STORE: z.enum(['fs', 's3'], { message: 'expects fs or s3' }).default('fs'),
  CALLREC_S3_ENDPOINT: z.url({ message: 'expects an absolute URL such as http://127.0.0.1:9000' }).optional(),
  CALLREC_S3_BUCKET: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'expects an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)',
    )
    .optional(),
  CALLREC_S3_REGION: z.string().min(1).default('us-east-1'),
  CALLREC_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  CALLREC_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  CALLREC_S3_FORCE_PATH_STYLE: bool.default(true),
  CALLREC_S3_VERSIONED: z
    .enum(['refuse', 'delete-versions'], { message: 'expects refuse or delete-versions' })
    .default('refuse'),
  CALLREC_S3_SSE: z.enum(['none', 'AES256', 'aws:kms'], { message: 'expects none, AES256 or aws:kms' }).default('none'),
  CALLREC_S3_SSE_KMS_KEY_ID: z.string().min(1).max(2048).optional(),
  CALLREC_RETENTION: duration('how long a recording is kept after its call started').default(30 * DAY_MS),
  CALLREC_SWEEP_INTERVAL: duration('how often the retention sweeper runs').default(60_000),
  CALLREC_SWEEP_BATCH: integer(1, 10_000).default(200),
  CALLREC_CLAIM_LEASE: duration('how long a sweeper claim holds').default(10 * 60_000),
  CALLREC_INGEST_SOURCES: ingestSources.default({}),
  CALLREC_INGEST_AGENT_CHANNELS: agentChannels.default({}),
  CALLREC_SPOOL_DIR: z.string().min(1).optional(),
  CALLREC_SPOOL_SOURCE: z.string().regex(SOURCE_ID, 'expects a source id of [A-Za-z0-9._-]').default('spool'),
  CALLREC_SPOOL_INTERVAL: duration('how often the spool folder is scanned').default(5_000),
  CALLREC_TWILIO_ACCOUNT_SID: z
    .string()
    .regex(/^AC[0-9a-fA-F]{32}$/, 'expects a Twilio Account SID (AC followed by 32 hex digits)')
    .optional(),
  CALLREC_TWILIO_AUTH_TOKEN: z.string().min(16, 'expects the Twilio auth token (16 characters or more)').optional(),
  CALLREC_TWILIO_API_BASE: z
    .url({ message: 'expects an absolute URL such as https://api.twilio.com' })
    .default('https://api.twilio.com'),
  CALLREC_TWILIO_DELETE_AFTER_IMPORT: bool.default(true),
  CALLREC_IMPORT_POLL_INTERVAL: duration('how often each S3 drop bucket is listed').default(60_000),
  CALLREC_IMPORT_S3_CREDENTIALS: importS3Credentials.default({}),
  CALLREC_MAX_UPLOAD_BYTES: integer(1, Number.MAX_SAFE_INTEGER).default(2 * 1024 ** 3),
  CALLREC_MAX_DURATION: duration('the longest call accepted').default(4 * 3_600_000),
  CALLREC_TRANSCODE_CONCURRENCY: integer(1, 64).default(2),
  CALLREC_INGEST_QUEUE: integer(0, 10_000).default(16),
  CALLREC_UNVERIFIED_UPLOADS_PER_SOURCE: integer(1, 10_000).default(16),
  CALLREC_UNVERIFIED_UPLOADS_PER_ADDRESS: integer(1, 10_000).default(8),
  CALLREC_UPLOAD_MIN_RATE: byteRate('the slowest an upload body may arrive').default(32 * 1024),
  CALLREC_UPLOAD_RATE_GRACE: duration(
    'how long an upload body may arrive slower than the minimum rate at first',
  ).default(10_000),
  CALLREC_FFMPEG_TIMEOUT: duration('the hard limit of one ffmpeg or ffprobe run').default(10 * 60_000),
  CALLREC_PLAYBACK_FORMAT: z.enum(['opus', 'mp3'], { message: 'expects opus or mp3' }).default('opus'),
  CALLREC_MASK_DTMF: z.enum(['on', 'off'], { message: 'expects on or off' }).default('on'),
  CALLREC_PHONE_REGION: z
    .string()
    .regex(/^[A-Z]{2}$/, 'expects a two-letter region code such as NL')
    .default('NL'),
  CALLREC_PRIVACY_REQUEST_RETENTION: retentionPeriod('how long a closed privacy request is kept').default({
    years: 2,
  }),
  CALLREC_EVALUATION_RETENTION: duration('how long a training evaluation is kept after it was created').default(
    365 * DAY_MS,
  ),
  CALLREC_TIME_ZONE: z
    .string()
    .refine(isTimeZone, 'expects an IANA time zone such as Europe/Amsterdam')
    .default('Europe/Amsterdam'),
  CALLREC_SESSION_SECRET: z.string().min(32, 'expects at least 32 characters').optional(),
  CALLREC_SESSION_IDLE: duration('how long an idle session lives').default(30 * 60_000),
  CALLREC_SESSION_MAX: duration('the absolute lifetime of a session').default(12 * 3_600_000),
  CALLREC_OIDC_ISSUER: z.url({ message: 'expects the issuer URL of the OpenID provider' }).optional(),
  CALLREC_OIDC_CLIENT_ID: z.string().min(1).optional(),
  CALLREC_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  CALLREC_OIDC_NAME: z.string().min(1).max(64).default('single sign-on'),
  CALLREC_OIDC_SCOPES: z.string().min(1).default('openid profile email'),
  CALLREC_OIDC_ROLES_CLAIM: z.string().min(1).max(256).default('groups'),
  CALLREC_OIDC_ROLE_MAP: z
    .string()
    .optional()
    .transform((text, ctx) => {
      const entries: OidcRoleMapping[] = [];
      for (const item of (text ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)) {
        const [group, role, queues, ...rest] = item.split(':').map((p) => p.trim());
        if (
          !group ||
          !role ||
          rest.length > 0 ||
          !OIDC_ROLES.includes(role) ||
          (queues !== undefined && role !== 'trainer')
        ) {
          ctx.addIssue({
            code: 'custom',
            message:
              `expects group:role[,…] with a role of ${OIDC_ROLES.join(', ')} (trainers may add :queue|queue; ` +
              'agents are local users, bound to an agent id)',
          });
          return z.NEVER;
        }
        const queueList =
          queues === undefined
            ? null
            : queues
                .split('|')
                .map((q) => q.trim())
                .filter(Boolean);
        entries.push({ group, role: role as Role, queues: queueList });
      }
      return entries;
    }),
  CALLREC_LOCAL_LOGIN: z
    .enum(['on', 'admins-only', 'off'], { message: 'expects on, admins-only or off' })
    .default('on'),
  CALLREC_MFA_REQUIRED_ROLES: z
    .string()
    .default('privacy,admin')
    .transform((text, ctx) => {
      const list =
        text.trim() === 'none'
          ? []
          : [
              ...new Set(
                text
                  .split(',')
                  .map((r) => r.trim())
                  .filter(Boolean),
              ),
            ];
      const bad = list.find((r) => !(ROLES as readonly string[]).includes(r));
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: `expects a comma list of ${ROLES.join(', ')}, or none` });
        return z.NEVER;
      }
      return list as Role[];
    }),
  CALLREC_CHECKPOINT_EVERY: integer(1, 1_000_000).default(1000),
  CALLREC_CHECKPOINT_KEY_FILE: z.string().min(1).optional(),
  CALLREC_CHECKPOINT_INTERVAL: duration('how often a checkpoint is signed while the deletion log grows').default(
    5 * 60_000,
  ),
  CALLREC_CHECKPOINT_LOCK_MODE: z
    .enum(['compliance', 'governance'], { message: 'expects compliance or governance' })
    .default('compliance'),
  CALLREC_CHECKPOINT_RETAIN: duration('how long a published checkpoint stays locked in an Object Lock bucket').default(
    365 * DAY_MS,
  ),
  CALLREC_ENCRYPTION: z.enum(['on', 'off'], { message: 'expects on or off' }).default('on'),
  CALLREC_KEYRING_FILE: z.string().min(1).optional(),
  CALLREC_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'expects fatal, error, warn, info, debug, trace or silent',
    })
    .default('info'),
});

export type DbConfig = { client: 'sqlite'; filename: string } | { client: 'pg'; url: string };

export type StoreConfig =
  | { kind: 'fs'; root: string }
  | {
      kind: 's3';
      endpoint: string | undefined;
      bucket: string;
      region: string;
      accessKeyId: string | undefined;
      secretAccessKey: string | undefined;
      forcePathStyle: boolean;
      versionedBucket: 'refuse' | 'delete-versions';
      /** Server-side encryption every put asks for (CALLREC_S3_SSE); absent: none. */
      sse?: S3Sse;
    };

/** S3 server-side encryption of puts: none, SSE-S3 (`AES256`), or SSE-KMS (`aws:kms`, optionally with a key id). */
export type S3Sse = { mode: 'none' } | { mode: 'AES256' } | { mode: 'aws:kms'; kmsKeyId: string | undefined };
/** One entry of CALLREC_OIDC_ROLE_MAP: members of `group` get `role` (trainers: limited to `queues` unless null). */
export interface OidcRoleMapping {
  readonly group: string;
  readonly role: Role;
  readonly queues: readonly string[] | null;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string | undefined;
  /**
   * Reverse proxies whose `X-Forwarded-For`/`-Proto`/`-Host` are believed (Express `trust
   * proxy`): addresses, CIDR ranges, `loopback`/`linklocal`/`uniquelocal`. Empty: none.
   */
  readonly trustedProxies: readonly string[];
  readonly dataDir: string;
  /** /readyz reports the disk `full` when the data dir's (or the SQLite file's) filesystem has less free. */
  readonly minFreeBytes: number;
  readonly db: DbConfig;
  readonly store: StoreConfig;
  readonly retention: { readonly ms: number; readonly days: number; readonly tag: string };
  /** How long a training evaluation is kept after it was created (its own `expires_at`; outlives the recording). */
  readonly evaluationRetentionMs: number;
  readonly sweep: { readonly intervalMs: number; readonly batchSize: number; readonly leaseMs: number };
  readonly ingest: {
    readonly sources: Readonly<Record<string, string>>;
    /** Per source, the stereo channel that holds the agent when an upload does not say (else left). */
    readonly agentChannels: Readonly<Record<string, 'left' | 'right'>>;
    /** The spool folder (src/ingest/adapters/spool.ts), when one is configured. */
    readonly spool: { readonly dir: string; readonly source: string; readonly intervalMs: number } | undefined;
    /**
     * Twilio recording status callbacks (src/ingest/adapters/twilio-*.ts), when an account is configured.
     * `apiOrigin` is the origin of CALLREC_TWILIO_API_BASE: the only origin media and API URLs are fetched from.
     */
    readonly twilio:
      | {
          readonly accountSid: string;
          readonly authToken: string;
          readonly apiOrigin: string;
          readonly deleteAfterImport: boolean;
        }
      | undefined;
    /**
     * S3 drop buckets (src/ingest/adapters/s3-drop.ts; the sources themselves are rows): how often
     * each is listed, and credentials by endpoint (`endpointKey`).
     */
    readonly drop: {
      readonly pollIntervalMs: number;
      readonly credentials: Readonly<
        Record<string, { readonly accessKeyId: string; readonly secretAccessKey: string }>
      >;
    };
    readonly maxUploadBytes: number;
    readonly maxDurationMs: number;
    readonly transcodeConcurrency: number;
    readonly queueLimit: number;
    /** Bodies received before their (v1) signature can be checked, at most, per source id and per client address. */
    readonly unverifiedPerSource: number;
    readonly unverifiedPerAddress: number;
    /** The slowest a body may arrive once `rateGraceMs` of waiting for it have passed (0: no minimum). */
    readonly minBytesPerSecond: number;
    readonly rateGraceMs: number;
    readonly ffmpegTimeoutMs: number;
    readonly playbackFormat: 'opus' | 'mp3';
    /** Whether ingest silences DTMF tones (card numbers keyed in) before anything is stored (src/audio/dtmf.ts). */
    readonly maskDtmf: boolean;
  };
  readonly phoneRegion: string;
  /** The privacy-request register: closed requests are deleted once `requestRetention` has passed since closing. */
  readonly privacy: { readonly requestRetention: RetentionPeriod };
  /** The call center's IANA time zone: the web UI shows every time in it, with the zone named. */
  readonly timeZone: string;
  readonly session: { readonly secret: string | undefined; readonly idleMs: number; readonly maxMs: number };
  /** Roles whose local sign-in needs a second factor (TOTP); a user of such a role without one may only enrol. */
  readonly mfa: { readonly requiredRoles: readonly Role[] };
  /** Who may sign in with a local password: everyone, only admins, or nobody (API tokens work regardless). */
  readonly localLogin: 'on' | 'admins-only' | 'off';
  /** OpenID Connect sign-in; undefined when CALLREC_OIDC_ISSUER is unset. */
  readonly oidc:
    | {
        readonly issuer: string;
        readonly clientId: string;
        readonly clientSecret: string | undefined;
        /** What the sign-in button says: "Sign in with <name>". */
        readonly name: string;
        readonly scopes: string;
        readonly rolesClaim: string;
        readonly roleMap: readonly OidcRoleMapping[];
      }
    | undefined;
  readonly audit: {
    readonly checkpointEvery: number;
    readonly checkpointIntervalMs: number;
    readonly checkpointKeyFile: string;
    /** S3 Object Lock of published checkpoints (only on a bucket with Object Lock enabled). */
    readonly checkpointLock: { readonly mode: 'COMPLIANCE' | 'GOVERNANCE'; readonly retainMs: number };
  };
  /**
   * Encryption at rest: `enabled` encrypts each new recording under its own data key (wrapped by
   * the keyring's current key); recordings stored encrypted stay readable when it is off.
   */
  readonly encryption: { readonly enabled: boolean; readonly keyringFile: string };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Thrown for an invalid environment; `message` is one line naming the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    expectation: string,
  ) {
    super(`${variable} ${expectation}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates the CALLREC_* variables of `env` and returns a frozen Config.
 * Unset and empty variables take their defaults; unknown CALLREC_* variables are ignored.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(variable, issue.message);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.CALLREC_DATA_DIR);

  let db: DbConfig;
  if (!e.CALLREC_DB_URL) db = { client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') };
  else if (e.CALLREC_DB_URL.startsWith('sqlite:')) {
    const filename = e.CALLREC_DB_URL.slice('sqlite:'.length);
    if (!filename) throw new ConfigError('CALLREC_DB_URL', 'expects sqlite:<file> with a file name');
    db = { client: 'sqlite', filename: filename === ':memory:' ? filename : path.resolve(filename) };
  } else db = { client: 'pg', url: e.CALLREC_DB_URL };

  if (e.CALLREC_OIDC_ISSUER) {
    if (!e.CALLREC_OIDC_CLIENT_ID)
      throw new ConfigError('CALLREC_OIDC_CLIENT_ID', 'is required when CALLREC_OIDC_ISSUER is set');
    if (e.CALLREC_OIDC_ROLE_MAP.length === 0) {
      throw new ConfigError(
        'CALLREC_OIDC_ROLE_MAP',
        'is required when CALLREC_OIDC_ISSUER is set (nobody would get a role)',
      );
    }
  }

  let store: StoreConfig;
  if (e.CALLREC_STORE === 'fs') store = { kind: 'fs', root: path.join(dataDir, 'objects') };
  else {
    if (!e.CALLREC_S3_BUCKET) throw new ConfigError('CALLREC_S3_BUCKET', 'is required when CALLREC_STORE=s3');
    if (Boolean(e.CALLREC_S3_ACCESS_KEY_ID) !== Boolean(e.CALLREC_S3_SECRET_ACCESS_KEY)) {
      throw new ConfigError('CALLREC_S3_SECRET_ACCESS_KEY', 'must be set together with CALLREC_S3_ACCESS_KEY_ID');
    }
    if (e.CALLREC_S3_SSE_KMS_KEY_ID && e.CALLREC_S3_SSE !== 'aws:kms') {
      throw new ConfigError('CALLREC_S3_SSE_KMS_KEY_ID', 'is only used with CALLREC_S3_SSE=aws:kms');
    }
    store = {
      kind: 's3',
      endpoint: e.CALLREC_S3_ENDPOINT,
      bucket: e.CALLREC_S3_BUCKET,
      region: e.CALLREC_S3_REGION,
      accessKeyId: e.CALLREC_S3_ACCESS_KEY_ID,
      secretAccessKey: e.CALLREC_S3_SECRET_ACCESS_KEY,
      forcePathStyle: e.CALLREC_S3_FORCE_PATH_STYLE,
      versionedBucket: e.CALLREC_S3_VERSIONED,
      sse:
        e.CALLREC_S3_SSE === 'aws:kms'
          ? { mode: 'aws:kms', kmsKeyId: e.CALLREC_S3_SSE_KMS_KEY_ID }
          : { mode: e.CALLREC_S3_SSE },
    };
  }

  if (Boolean(e.CALLREC_TWILIO_ACCOUNT_SID) !== Boolean(e.CALLREC_TWILIO_AUTH_TOKEN))
    throw new ConfigError('CALLREC_TWILIO_AUTH_TOKEN', 'must be set together with CALLREC_TWILIO_ACCOUNT_SID');
  // Twilio signs the URL it called: without the public URL no callback can be verified.
  if (e.CALLREC_TWILIO_AUTH_TOKEN && !e.CALLREC_PUBLIC_URL)
    throw new ConfigError(
      'CALLREC_PUBLIC_URL',
      'is required when CALLREC_TWILIO_AUTH_TOKEN is set (Twilio signs the URL it calls)',
    );

  const days = Math.ceil(e.CALLREC_RETENTION / DAY_MS);
  const config: Config = {
    port: e.CALLREC_PORT,
    host: e.CALLREC_HOST,
    publicUrl: e.CALLREC_PUBLIC_URL,
    trustedProxies: e.CALLREC_TRUSTED_PROXIES ?? [],
    dataDir,
    minFreeBytes: e.CALLREC_MIN_FREE_BYTES,
    db,
    store,
    retention: { ms: e.CALLREC_RETENTION, days, tag: `${days}d` },
    evaluationRetentionMs: e.CALLREC_EVALUATION_RETENTION,
    sweep: { intervalMs: e.CALLREC_SWEEP_INTERVAL, batchSize: e.CALLREC_SWEEP_BATCH, leaseMs: e.CALLREC_CLAIM_LEASE },
    ingest: {
      sources: e.CALLREC_INGEST_SOURCES,
      agentChannels: e.CALLREC_INGEST_AGENT_CHANNELS,
      spool: e.CALLREC_SPOOL_DIR
        ? {
            dir: path.resolve(e.CALLREC_SPOOL_DIR),
            source: e.CALLREC_SPOOL_SOURCE,
            intervalMs: e.CALLREC_SPOOL_INTERVAL,
          }
        : undefined,
      twilio:
        e.CALLREC_TWILIO_ACCOUNT_SID && e.CALLREC_TWILIO_AUTH_TOKEN
          ? {
              accountSid: e.CALLREC_TWILIO_ACCOUNT_SID,
              authToken: e.CALLREC_TWILIO_AUTH_TOKEN,
              apiOrigin: new URL(e.CALLREC_TWILIO_API_BASE).origin,
              deleteAfterImport: e.CALLREC_TWILIO_DELETE_AFTER_IMPORT,
            }
          : undefined,
      drop: { pollIntervalMs: e.CALLREC_IMPORT_POLL_INTERVAL, credentials: e.CALLREC_IMPORT_S3_CREDENTIALS },
      maxUploadBytes: e.CALLREC_MAX_UPLOAD_BYTES,
      maxDurationMs: e.CALLREC_MAX_DURATION,
      transcodeConcurrency: e.CALLREC_TRANSCODE_CONCURRENCY,
      queueLimit: e.CALLREC_INGEST_QUEUE,
      unverifiedPerSource: e.CALLREC_UNVERIFIED_UPLOADS_PER_SOURCE,
      unverifiedPerAddress: e.CALLREC_UNVERIFIED_UPLOADS_PER_ADDRESS,
      minBytesPerSecond: e.CALLREC_UPLOAD_MIN_RATE,
      rateGraceMs: e.CALLREC_UPLOAD_RATE_GRACE,
      ffmpegTimeoutMs: e.CALLREC_FFMPEG_TIMEOUT,
      playbackFormat: e.CALLREC_PLAYBACK_FORMAT,
      maskDtmf: e.CALLREC_MASK_DTMF === 'on',
    },
    phoneRegion: e.CALLREC_PHONE_REGION,
    privacy: { requestRetention: e.CALLREC_PRIVACY_REQUEST_RETENTION },
    timeZone: e.CALLREC_TIME_ZONE,
    session: { secret: e.CALLREC_SESSION_SECRET, idleMs: e.CALLREC_SESSION_IDLE, maxMs: e.CALLREC_SESSION_MAX },
    mfa: { requiredRoles: e.CALLREC_MFA_REQUIRED_ROLES },
    localLogin: e.CALLREC_LOCAL_LOGIN,
    oidc: e.CALLREC_OIDC_ISSUER
      ? {
          issuer: e.CALLREC_OIDC_ISSUER,
          clientId: e.CALLREC_OIDC_CLIENT_ID!,
          clientSecret: e.CALLREC_OIDC_CLIENT_SECRET,
          name: e.CALLREC_OIDC_NAME,
          scopes: e.CALLREC_OIDC_SCOPES,
          rolesClaim: e.CALLREC_OIDC_ROLES_CLAIM,
          roleMap: e.CALLREC_OIDC_ROLE_MAP,
        }
      : undefined,
    audit: {
      checkpointEvery: e.CALLREC_CHECKPOINT_EVERY,
      checkpointIntervalMs: e.CALLREC_CHECKPOINT_INTERVAL,
      checkpointKeyFile: path.resolve(e.CALLREC_CHECKPOINT_KEY_FILE ?? path.join(dataDir, 'checkpoint-key.pem')),
      checkpointLock: {
        mode: e.CALLREC_CHECKPOINT_LOCK_MODE === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE',
        retainMs: e.CALLREC_CHECKPOINT_RETAIN,
      },
    },
    encryption: {
      enabled: e.CALLREC_ENCRYPTION === 'on',
      keyringFile: path.resolve(e.CALLREC_KEYRING_FILE ?? path.join(dataDir, 'keyring')),
    },
    logLevel: e.CALLREC_LOG_LEVEL,
  };
  return deepFreeze(config);
}

/** The process's own configuration: `loadConfig(process.env)`. The only read of the environment. */
export function loadConfigFromEnvironment(): Config {
  return loadConfig(process.env);
}
