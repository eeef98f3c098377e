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
  CALLREC_RETENTION: duration('how long a recording is kept after its call started').default(30 * DAY_MS),
  CALLREC_SWEEP_INTERVAL: duration('how often the retention sweeper runs').default(60_000),
  CALLREC_SWEEP_BATCH: integer(1, 10_000).default(200),
  CALLREC_CLAIM_LEASE: duration('how long a sweeper claim holds').default(10 * 60_000),
  CALLREC_INGEST_SOURCES: ingestSources.default({}),
  CALLREC_INGEST_AGENT_CHANNELS: agentChannels.default({}),
  CALLREC_SPOOL_DIR: z.string().min(1).optional(),
  CALLREC_SPOOL_SOURCE: z.string().regex(SOURCE_ID, 'expects a source id of [A-Za-z0-9._-]').default('spool'),
  CALLREC_SPOOL_INTERVAL: duration('how often the spool folder is scanned').default(5_000),
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
  CALLREC_PHONE_REGION: z
    .string()
    .regex(/^[A-Z]{2}$/, 'expects a two-letter region code such as NL')
    .default('NL'),
  CALLREC_TIME_ZONE: z
    .string()
    .refine(isTimeZone, 'expects an IANA time zone such as Europe/Amsterdam')
    .default('Europe/Amsterdam'),
  CALLREC_SESSION_SECRET: z.string().min(32, 'expects at least 32 characters').optional(),
  CALLREC_SESSION_IDLE: duration('how long an idle session lives').default(30 * 60_000),
  CALLREC_SESSION_MAX: duration('the absolute lifetime of a session').default(12 * 3_600_000),
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
    };

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
  readonly sweep: { readonly intervalMs: number; readonly batchSize: number; readonly leaseMs: number };
  readonly ingest: {
    readonly sources: Readonly<Record<string, string>>;
    /** Per source, the stereo channel that holds the agent when an upload does not say (else left). */
    readonly agentChannels: Readonly<Record<string, 'left' | 'right'>>;
    /** The spool folder (src/ingest/adapters/spool.ts), when one is configured. */
    readonly spool: { readonly dir: string; readonly source: string; readonly intervalMs: number } | undefined;
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
  };
  readonly phoneRegion: string;
  /** The call center's IANA time zone: the web UI shows every time in it, with the zone named. */
  readonly timeZone: string;
  readonly session: { readonly secret: string | undefined; readonly idleMs: number; readonly maxMs: number };
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

  let store: StoreConfig;
  if (e.CALLREC_STORE === 'fs') store = { kind: 'fs', root: path.join(dataDir, 'objects') };
  else {
    if (!e.CALLREC_S3_BUCKET) throw new ConfigError('CALLREC_S3_BUCKET', 'is required when CALLREC_STORE=s3');
    if (Boolean(e.CALLREC_S3_ACCESS_KEY_ID) !== Boolean(e.CALLREC_S3_SECRET_ACCESS_KEY)) {
      throw new ConfigError('CALLREC_S3_SECRET_ACCESS_KEY', 'must be set together with CALLREC_S3_ACCESS_KEY_ID');
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
    };
  }

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
    },
    phoneRegion: e.CALLREC_PHONE_REGION,
    timeZone: e.CALLREC_TIME_ZONE,
    session: { secret: e.CALLREC_SESSION_SECRET, idleMs: e.CALLREC_SESSION_IDLE, maxMs: e.CALLREC_SESSION_MAX },
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
