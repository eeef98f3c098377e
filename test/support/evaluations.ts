/**
 * Builders for training reviews (#20): a form definition and a stored evaluation row, each with
 * overrides.
 *
 *   await insertForm(knex, { id, definition: buildForm({ name: 'x' }), createdBy: 'admin', at });
 *   await insertEvaluation(knex, buildEvaluation(formId, { status: 'draft' }));
 */
import { ulid } from 'ulid';
import type { NewEvaluation } from '../../src/db/evaluations.js';
import type { FormDefinition } from '../../src/domain/evaluation-forms.js';

/** An instant with a millisecond part, beyond 2^31 ms. */
export const T0 = 1_780_000_000_123;

/** A one-section, one-question form. */
export const buildForm = (overrides: Partial<FormDefinition> = {}): FormDefinition => ({
  name: 'Inbound support',
  sections: [
    {
      title: 'Opening',
      questions: [{ id: 'greet', text: 'Greets the caller', type: 'yesno', weight: 1, critical: false }],
    },
  ],
  ...overrides,
});

/** A submitted evaluation scoring 100 against version 1 of `formId`. */
export const buildEvaluation = (formId: string, overrides: Partial<NewEvaluation> = {}): NewEvaluation => ({
  id: ulid(),
  recordingId: ulid(),
  formId,
  formVersion: 1,
  evaluator: 'trainer-a',
  agentId: 'agent-1',
  queue: 'support',
  callStartedAt: T0,
  callDurationMs: 4000,
  status: 'submitted',
  calibration: false,
  answers: { greet: 'yes' },
  comments: {},
  score: 100,
  createdAt: T0,
  updatedAt: T0,
  submittedAt: T0,
  expiresAt: T0 + 365 * 86_400_000,
  sectionScores: [{ section: '0', score: 100 }],
  timedComments: [],
  ...overrides,
});
