/**
 * Evaluations of calls (issue #20). Who sees what: access.ts (anything not visible is 404).
 *
 * - `POST /v1/recordings/:id/evaluations` (trainer, admin; a recording they may see) → 201 the evaluation
 * - `GET /v1/recordings/:id/evaluations` → `{items}` the visible evaluations of that call (also once
 *   the recording is deleted)
 * - `GET /v1/recordings/:id/calibration` (trainer, admin) → the spread of the calibration evaluations
 *   (a trainer: once they submitted their own, else 403)
 * - `GET /v1/evaluations?agentId=&queue=&formId=&status=&from=&to=&cursor=&limit=` → `{items, nextCursor}`
 * - `GET /v1/evaluations/:id`; `PUT /v1/evaluations/:id` (its evaluator; a draft only, else 409)
 * - `POST /v1/evaluations/:id/acknowledge` `{comment?}`, `…/dispute` `{comment}` (the agent; a
 *   submitted evaluation only, else 409)
 * The score is computed here at submission (score.ts); a client-sent score is an unknown field (400).
 * Bad answers for the form version are 422 `answers_mismatch`; a phone number in any text 400.
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import { ulid } from 'ulid';
import { createGuards } from '../auth/index.js';
import type { AppDeps } from '../deps.js';
import {
  findEvaluation,
  findFormVersion,
  hasSubmittedCalibration,
  insertEvaluation,
  recordingStates,
  respondToEvaluation,
  searchEvaluations,
  updateDraft,
} from '../db/evaluations.js';
import type { EvaluationRecord, FormVersionRecord, TimedComment } from '../db/evaluations.js';
import type { Principal } from '../domain/roles.js';
import { errors } from '../errors.js';
import { loadVisibleRecording } from '../playback/index.js';
import {
  canEditEvaluation,
  canRespond,
  EVALUATE_ROLES,
  EVALUATION_READ_ROLES,
  evaluationScope,
  RESPOND_ROLES,
} from './access.js';
import { answerProblems, contentTexts } from './answers.js';
import type { EvaluationContent } from './answers.js';
import { calibrationView } from './calibration.js';
import { presentEvaluation, recordingStateOf, scoreForStorage } from './present.js';
import type { EvaluationJson } from './present.js';
import { fieldProblems, parseJsonBody, principalOf, refusePhoneNumbers } from './request.js';
import {
  acknowledgeBodySchema,
  calibrationQuerySchema,
  disputeBodySchema,
  evaluationBodySchema,
  evaluationQuerySchema,
  evaluationUpdateSchema,
} from './schemas.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const DEFAULT_LIMIT = 50;
/** At most this many evaluations of one call are listed (a call has a handful). */
const PER_RECORDING_MAX = 500;

export function createEvaluationRouter(deps: AppDeps): Router {
  const router = Router();
  const guards = createGuards(deps);
  const canEvaluate = guards.requireRole(...EVALUATE_ROLES);
  const canRead = guards.requireRole(...EVALUATION_READ_ROLES);
  const canRespondRole = guards.requireRole(...RESPOND_ROLES);

  /** The form versions of `evaluations`, read once per version (they never change). */
  const formsOf = async (evaluations: readonly EvaluationRecord[]) => {
    const forms = new Map<string, FormVersionRecord>();
    for (const e of evaluations) {
      const key = `${e.formId}:${e.formVersion}`;
      if (forms.has(key)) continue;
      const form = await findFormVersion(deps.db.knex, e.formId, e.formVersion);
      // The foreign key keeps every evaluation's form version.
      if (!form) throw errors.internal({ detail: 'an evaluation lost its form version' });
      forms.set(key, form);
    }
    return forms;
  };

  const present = async (evaluations: readonly EvaluationRecord[]): Promise<EvaluationJson[]> => {
    const forms = await formsOf(evaluations);
    const states = await recordingStates(
      deps.db.knex,
      evaluations.map((e) => e.recordingId),
    );
    return evaluations.map((e) =>
      presentEvaluation(e, forms.get(`${e.formId}:${e.formVersion}`)!, recordingStateOf(states, e.recordingId)),
    );
  };

  /** The evaluation `:id` that `principal` may see, or 404. */
  const visibleEvaluation = async (req: Request, principal: Principal): Promise<EvaluationRecord> => {
    const id = String(req.params.id);
    const found = ULID.test(id) ? await findEvaluation(deps.db.knex, id, evaluationScope(principal)) : undefined;
    if (!found) throw errors.notFound('Evaluation');
    return found;
  };

  /** 422 unless `content` fits `form` and the call; 400 for a phone number in its texts. */
  const checkContent = (content: EvaluationContent, form: FormVersionRecord, callDurationMs: number) => {
    refusePhoneNumbers(contentTexts(content), deps.config.phoneRegion, 'evaluation');
    const problems = answerProblems(form.definition, content, callDurationMs);
    if (problems.length > 0) throw errors.answersMismatch(problems);
  };

  const timedComments = (content: EvaluationContent, author: string, at: number): TimedComment[] =>
    (content.timedComments ?? []).map((c) => ({
      id: ulid(at),
      author,
      offsetMs: c.offsetMs,
      text: c.text,
      createdAt: at,
    }));

  router.post('/v1/recordings/:id/evaluations', canEvaluate, async (req, res) => {
    const principal = principalOf(req);
    const now = deps.clock.now();
    const recording = await loadVisibleRecording(deps.db, principal, String(req.params.id), now);
    const body = parseJsonBody(req, evaluationBodySchema, 'evaluation');
    const form = await findFormVersion(deps.db.knex, body.formId, body.version);
    if (!form) throw errors.notFound(body.version === undefined ? 'Form' : 'Form version');
    checkContent(body, form, Number(recording.duration_ms));
    const { score, sectionScores } = scoreForStorage(form, body.answers, body.status);
    const id = ulid(now);
    await insertEvaluation(deps.db.knex, {
      id,
      recordingId: recording.id,
      formId: form.formId,
      formVersion: form.version,
      evaluator: principal.username,
      agentId: recording.agent_id,
      queue: recording.queue,
      callStartedAt: Number(recording.started_at),
      callDurationMs: Number(recording.duration_ms),
      status: body.status,
      calibration: body.calibration ?? false,
      answers: body.answers,
      comments: body.comments ?? {},
      score,
      createdAt: now,
      updatedAt: now,
      submittedAt: body.status === 'submitted' ? now : null,
      expiresAt: now + deps.config.evaluationRetentionMs,
      sectionScores,
      timedComments: timedComments(body, principal.username, now),
    });
    const created = await findEvaluation(deps.db.knex, id);
    const [json] = await present([created!]);
    res.status(201).setHeader('Location', `/v1/evaluations/${id}`).json(json);
  });

  router.get('/v1/recordings/:id/evaluations', canRead, async (req, res) => {
    const principal = principalOf(req);
    const recordingId = String(req.params.id);
    if (!ULID.test(recordingId)) throw errors.notFound('Recording');
    const found = await searchEvaluations(deps.db.knex, {
      scope: evaluationScope(principal),
      recordingId,
      limit: PER_RECORDING_MAX,
    });
    // No evaluation to show: the call must be one the principal may see (404 as for recordings).
    if (found.length === 0) await loadVisibleRecording(deps.db, principal, recordingId, deps.clock.now());
    res.setHeader('Cache-Control', 'private, no-store');
    res.json({ items: await present(found) });
  });

  router.get('/v1/recordings/:id/calibration', canEvaluate, async (req, res) => {
    const principal = principalOf(req);
    const recordingId = String(req.params.id);
    if (!ULID.test(recordingId)) throw errors.notFound('Recording');
    const query = calibrationQuerySchema.safeParse(req.query);
    if (!query.success) throw errors.invalidQuery(fieldProblems(query.error));
    const scope = evaluationScope(principal);
    const all = (
      await searchEvaluations(deps.db.knex, { scope, recordingId, calibration: true, limit: PER_RECORDING_MAX })
    ).filter((e) => e.status !== 'draft');
    if (all.length === 0) await loadVisibleRecording(deps.db, principal, recordingId, deps.clock.now());
    if (scope.viewer !== null && !(await hasSubmittedCalibration(deps.db.knex, recordingId, scope.viewer)))
      throw errors.forbidden({ detail: 'Submit your own calibration evaluation of this call first' });
    // Which form version: asked for, else the viewer's own latest (an admin: the latest of all).
    const own = all.filter((e) => scope.viewer === null || e.evaluator === scope.viewer);
    const formId = query.data.formId ?? own[0]?.formId;
    const ofForm = all.filter((e) => e.formId === formId);
    const version = query.data.version ?? (query.data.formId ? ofForm : own)[0]?.formVersion;
    const chosen = ofForm.filter((e) => e.formVersion === version);
    const form = formId && version ? await findFormVersion(deps.db.knex, formId, version) : undefined;
    res.setHeader('Cache-Control', 'private, no-store');
    const view = form
      ? calibrationView(
          form.definition,
          [...chosen].sort((a, b) => a.evaluator.localeCompare(b.evaluator) || a.id.localeCompare(b.id)),
        )
      : { evaluators: 0, scores: { items: [], spread: null }, questions: [] };
    res.json({ recordingId, formId: form?.formId ?? null, formVersion: form?.version ?? null, ...view });
  });

  router.get('/v1/evaluations', canRead, async (req, res) => {
    const principal = principalOf(req);
    const parsed = evaluationQuerySchema.safeParse(req.query);
    if (!parsed.success) throw errors.invalidQuery(fieldProblems(parsed.error));
    const q = parsed.data;
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await searchEvaluations(deps.db.knex, {
      scope: evaluationScope(principal),
      agentId: q.agentId,
      queue: q.queue,
      formId: q.formId,
      status: q.status,
      from: q.from,
      to: q.to,
      after: q.cursor,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    res.setHeader('Cache-Control', 'private, no-store');
    res.json({
      items: await present(page),
      nextCursor: rows.length > limit && last ? `${last.callStartedAt}.${last.id}` : null,
    });
  });

  router.get('/v1/evaluations/:id', canRead, async (req, res) => {
    const evaluation = await visibleEvaluation(req, principalOf(req));
    res.setHeader('Cache-Control', 'private, no-store');
    res.json((await present([evaluation]))[0]);
  });

  router.put('/v1/evaluations/:id', canEvaluate, async (req, res) => {
    const principal = principalOf(req);
    const evaluation = await visibleEvaluation(req, principal);
    if (!canEditEvaluation(principal, evaluation))
      throw errors.forbidden({ detail: 'Only its evaluator can change an evaluation' });
    if (evaluation.status !== 'draft') throw errors.conflict('Only a draft can be changed');
    const body = parseJsonBody(req, evaluationUpdateSchema, 'evaluation');
    const form = (await formsOf([evaluation])).get(`${evaluation.formId}:${evaluation.formVersion}`)!;
    checkContent(body, form, evaluation.callDurationMs);
    const now = deps.clock.now();
    const { score, sectionScores } = scoreForStorage(form, body.answers, body.status);
    const changed = await updateDraft(deps.db.knex, {
      id: evaluation.id,
      evaluator: principal.username,
      status: body.status,
      calibration: body.calibration ?? evaluation.calibration,
      answers: body.answers,
      comments: body.comments ?? {},
      score,
      sectionScores,
      timedComments: timedComments(body, principal.username, now),
      at: now,
    });
    if (!changed) throw errors.conflict('Only a draft can be changed');
    const updated = await findEvaluation(deps.db.knex, evaluation.id);
    res.setHeader('Cache-Control', 'private, no-store');
    res.json((await present([updated!]))[0]);
  });

  const respond = (status: 'acknowledged' | 'disputed') =>
    async function handler(req: Request, res: Response) {
      const principal = principalOf(req);
      const evaluation = await visibleEvaluation(req, principal);
      if (!canRespond(principal, evaluation)) throw errors.notFound('Evaluation');
      const body =
        status === 'acknowledged'
          ? parseJsonBody(req, acknowledgeBodySchema, 'response')
          : parseJsonBody(req, disputeBodySchema, 'response');
      if (body.comment !== undefined)
        refusePhoneNumbers([['comment', body.comment]], deps.config.phoneRegion, 'response');
      if (evaluation.status !== 'submitted') throw errors.conflict('Only a submitted evaluation can be answered');
      const changed = await respondToEvaluation(deps.db.knex, {
        id: evaluation.id,
        status,
        comment: body.comment ?? null,
        at: deps.clock.now(),
      });
      if (!changed) throw errors.conflict('Only a submitted evaluation can be answered');
      const updated = await findEvaluation(deps.db.knex, evaluation.id);
      res.setHeader('Cache-Control', 'private, no-store');
      res.json((await present([updated!]))[0]);
    };
  router.post('/v1/evaluations/:id/acknowledge', canRespondRole, respond('acknowledged'));
  router.post('/v1/evaluations/:id/dispute', canRespondRole, respond('disputed'));

  return router;
}
