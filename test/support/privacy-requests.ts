/**
 * Test builders for the privacy-request register: a request inserted directly through the
 * database (no HTTP), with every column overridable, and a JSON body for `POST /v1/privacy-requests`.
 *
 *   const req = await createStoredPrivacyRequest(db, { numbers: [phone.e164], overrides: { received_at: t } });
 */
import { ulid } from 'ulid';
import type { Db } from '../../src/db/db.js';
import { closeRequest, insertPrivacyRequest, setExtension } from '../../src/db/privacy-requests.js';
import type { NewPrivacyRequest, PrivacyRequestRow } from '../../src/db/privacy-requests.js';
import { dueAtFor } from '../../src/privacy/deadline.js';
import { referenceFor } from '../../src/privacy/register.js';

const HOUR_MS = 3_600_000;

export interface PrivacyRequestOverrides extends Partial<NewPrivacyRequest> {
  /** Applied after the insert, like the register's own extend (due date recomputed from receipt). */
  extension_months?: number;
  /** Closes the request after the insert. */
  closed?: { outcome: PrivacyRequestRow['outcome'] & string; reason?: string; at?: number; by?: string };
}

/** A new request's columns: an access request by e-mail, received an hour ago, identity verified. */
export function buildPrivacyRequestRow(overrides: Partial<NewPrivacyRequest> = {}): NewPrivacyRequest {
  const receivedAt = overrides.received_at ?? Date.now() - HOUR_MS;
  return {
    id: ulid(),
    kind: 'access',
    channel: 'email',
    identity_verified: true,
    case_reference: null,
    received_at: receivedAt,
    due_at: dueAtFor({ receivedAt }),
    created_by: 'privacy-test',
    created_at: receivedAt,
    ...overrides,
  };
}

export async function createStoredPrivacyRequest(
  db: Db,
  options: { numbers: string[]; overrides?: PrivacyRequestOverrides },
): Promise<PrivacyRequestRow> {
  const { extension_months, closed, ...columns } = options.overrides ?? {};
  const row = buildPrivacyRequestRow(columns);
  const stored = await insertPrivacyRequest(db.knex, {
    row,
    numbers: options.numbers,
    referenceOf: (seq) => referenceFor(seq, row.received_at),
  });
  if (extension_months) {
    await setExtension(db.knex, row.id, {
      extensionMonths: extension_months,
      dueAt: dueAtFor({ receivedAt: row.received_at, extensionMonths: extension_months }),
    });
  }
  if (closed) {
    await closeRequest(db.knex, row.id, {
      outcome: closed.outcome,
      reason: closed.reason ?? null,
      at: closed.at ?? Date.now(),
      by: closed.by ?? 'privacy-test',
    });
  }
  return { ...stored };
}

/** A valid body for `POST /v1/privacy-requests`, with overrides. */
export function privacyRequestBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'access',
    phone: '+31612345678',
    receivedAt: new Date(Date.now() - HOUR_MS).toISOString(),
    channel: 'email',
    identityVerified: true,
    ...overrides,
  };
}
