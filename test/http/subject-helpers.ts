/**
 * Helpers shared by the subject (privacy officer) suites: generated phone numbers,
 * a small JSON client, zip reading through the `unzip` CLI, and full dumps of what
 * the service persisted (store listing, deletion log, access log).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../../src/db/db.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { storeKeys, tempDir } from '../support/backends.js';
import { seededRandom } from '../support/random.js';

export interface TestPhone {
  /** +3161xxxxxxx */
  e164: string;
  /** 061xxxxxxx written as `06 1xxxxxxx` */
  national: string;
  /** The 9 national digits, the part that identifies the subject in any notation. */
  digits: string;
}

const phoneDigits = seededRandom('subject-phones');

/** A fresh, valid Dutch mobile number (one seeded sequence per test process: unique enough, the same every run). */
export function newPhone(): TestPhone {
  const rest = String(phoneDigits.int(0, 10_000_000)).padStart(7, '0');
  return { e164: `+3161${rest}`, national: `06 1${rest}`, digits: `61${rest}` };
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** One JSON request with a bearer token; the body is parsed as JSON when it is JSON. */
export async function api<T = Record<string, unknown>>(
  baseUrl: string,
  pathAndQuery: string,
  options: { token?: string; method?: string; body?: unknown } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${pathAndQuery}`, {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const body = (type.includes('json') && text ? JSON.parse(text) : text) as T;
  return { status: res.status, headers: res.headers, body };
}

/** Downloads a response body to a temp file and returns the path. */
export async function download(
  baseUrl: string,
  pathAndQuery: string,
  token: string,
): Promise<{ status: number; headers: Headers; file: string }> {
  const res = await fetch(`${baseUrl}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
  const file = path.join(tempDir('callrec-export-'), 'export.zip');
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return { status: res.status, headers: res.headers, file };
}

/** Every entry of a zip (names → bytes), read with the `unzip` CLI (which also checks CRCs). */
export function readZip(file: string): Map<string, Buffer> {
  execFileSync('unzip', ['-tqq', file]);
  const names = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const entries = new Map<string, Buffer>();
  for (const name of names)
    entries.set(name, execFileSync('unzip', ['-p', file, name], { maxBuffer: 64 * 1024 * 1024 }));
  return entries;
}

/** Every key in the store. */
export async function listAllKeys(store: ObjectStore): Promise<string[]> {
  return storeKeys(store);
}

export interface LogRow {
  seq: number;
  recording_id: string;
  reason: string;
  actor: string;
  reference: string | null;
  [column: string]: unknown;
}

export async function deletionLogRows(db: Db): Promise<LogRow[]> {
  return (await db.knex('deletion_log').orderBy('seq', 'asc')) as LogRow[];
}

export interface AccessRow {
  id: number;
  username: string;
  role: string;
  recording_id: string | null;
  action: string;
  detail: string | null;
  [column: string]: unknown;
}

export async function accessLogRows(db: Db): Promise<AccessRow[]> {
  return (await db.knex('access_log').orderBy('id', 'asc')) as AccessRow[];
}

/** True when `text` holds the subject's number in any common notation (E.164, national, bare digits). */
export function mentionsPhone(text: string, phone: TestPhone): boolean {
  const squeezed = text.replace(/[\s().-]/g, '');
  return squeezed.includes(phone.digits) || text.includes(phone.e164) || text.includes(phone.national);
}

/** Polls `check` until it is true (every 20 ms, at most `ms`); returns whether it became true. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}
