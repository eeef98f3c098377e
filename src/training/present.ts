/**
 * The API shapes of forms and evaluations (documented in src/openapi-training.ts, tied to these
 * types there). Times are ISO 8601 strings. An evaluation never carries audio, a caller number
 * or an excerpt of the call; `recording` says whether its recording still exists and, once it was
 * deleted, the seq of its deletion-log entry.
 */
import type { EvaluationRecord, FormVersionRecord, TimedComment } from '../db/evaluations.js';
import type { Answer, EvaluationStatus, Section } from '../domain/evaluation-forms.js';
import { computeScore } from './score.js';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export interface FormVersionJson {
  id: string;
  version: number;
  name: string;
  sections: Section[];
  createdAt: string;
  createdBy: string;
}

export function presentFormVersion(v: FormVersionRecord): FormVersionJson {
  return {
    id: v.formId,
    version: v.version,
    name: v.definition.name,
    sections: v.definition.sections,
    createdAt: iso(v.createdAt),
    createdBy: v.createdBy,
  };
}

/** Whether the recording exists; once deleted, its deletion-log entry (null when none was found). */
export type RecordingState = { exists: true } | { exists: false; deletionEntry: number | null };

/** The state of `recordingId` from `recordingStates` (db/evaluations.ts). */
export function recordingStateOf(states: ReadonlyMap<string, number | null>, recordingId: string): RecordingState {
  const seq = states.get(recordingId);
  if (seq === null) return { exists: true };
  return { exists: false, deletionEntry: seq ?? null };
}

export interface TimedCommentJson {
  id: string;
  author: string;
  offsetMs: number;
  text: string;
  createdAt: string;
}

export interface EvaluationJson {
  id: string;
  recordingId: string;
  formId: string;
  formVersion: number;
  evaluator: string;
  agentId: string | null;
  queue: string | null;
  callStartedAt: string;
  callDurationMs: number;
  status: EvaluationStatus;
  calibration: boolean;
  answers: Record<string, Answer>;
  comments: Record<string, string>;
  timedComments: TimedCommentJson[];
  score: number | null;
  sectionScores: Array<{ section: string; title: string; score: number | null }>;
  agentComment: string | null;
  createdAt: string;
  updatedAt: string;
  submittedAt: string | null;
  respondedAt: string | null;
  expiresAt: string;
  recording: RecordingState;
}

const presentComment = (c: TimedComment): TimedCommentJson => ({ ...c, createdAt: iso(c.createdAt) });

/**
 * The JSON of `e`, read against its form version `form`. Section scores are those stored at
 * submission (every section of the form listed, null where nothing counted; all null in a draft).
 */
export function presentEvaluation(
  e: EvaluationRecord,
  form: FormVersionRecord,
  recording: RecordingState,
): EvaluationJson {
  const stored = new Map(e.sectionScores.map((s) => [s.section, s.score]));
  return {
    id: e.id,
    recordingId: e.recordingId,
    formId: e.formId,
    formVersion: e.formVersion,
    evaluator: e.evaluator,
    agentId: e.agentId,
    queue: e.queue,
    callStartedAt: iso(e.callStartedAt),
    callDurationMs: e.callDurationMs,
    status: e.status,
    calibration: e.calibration,
    answers: e.answers,
    comments: e.comments,
    timedComments: e.timedComments.map(presentComment),
    score: e.score,
    sectionScores: form.definition.sections.map((s, i) => ({
      section: String(i),
      title: s.title,
      score: stored.get(String(i)) ?? null,
    })),
    agentComment: e.agentComment,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
    submittedAt: isoOrNull(e.submittedAt),
    respondedAt: isoOrNull(e.respondedAt),
    expiresAt: iso(e.expiresAt),
    recording,
  };
}

/** The stored score and section scores of content with `status` against `form` (a draft has none). */
export function scoreForStorage(
  form: FormVersionRecord,
  answers: Record<string, Answer>,
  status: 'draft' | 'submitted',
): { score: number | null; sectionScores: Array<{ section: string; score: number }> } {
  if (status === 'draft') return { score: null, sectionScores: [] };
  const result = computeScore(form.definition, answers);
  return {
    score: result.score,
    sectionScores: result.sections.flatMap((s) => (s.score === null ? [] : [{ section: s.section, score: s.score }])),
  };
}
