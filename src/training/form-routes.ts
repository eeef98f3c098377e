/**
 * Evaluation forms (issue #20): versioned; a version is published when written and never changes.
 *
 * - `POST /v1/evaluation-forms` (admin) → 201 version 1
 * - `GET /v1/evaluation-forms` (trainer, admin) → `{items: [{id, name, version, createdAt}]}` (latest versions)
 * - `GET /v1/evaluation-forms/:id` → the latest version in full plus `versions: [1, 2, …]`
 * - `GET /v1/evaluation-forms/:id/versions/:version` → that version
 * - `PUT /v1/evaluation-forms/:id` (admin) → 201 the next version
 * A body that its schema refuses is 400 `invalid_request`; one that contradicts itself (repeated
 * question id or choice value) 422 `invalid_form`; a phone number in any text 400.
 */
import { Router } from 'express';
import { ulid } from 'ulid';
import { createGuards } from '../auth/index.js';
import type { AppDeps } from '../deps.js';
import { findFormVersion, insertForm, insertFormVersion, listForms, listFormVersions } from '../db/evaluations.js';
import { errors } from '../errors.js';
import { FORM_ADMIN_ROLES, FORM_READ_ROLES } from './access.js';
import { formProblems, formTexts, toDefinition } from './forms.js';
import { presentFormVersion } from './present.js';
import { parseJsonBody, principalOf, refusePhoneNumbers } from './request.js';
import { formBodySchema } from './schemas.js';
import type { FormBody } from './schemas.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const VERSION = /^[1-9][0-9]{0,8}$/;

export function createFormRouter(deps: AppDeps): Router {
  const router = Router();
  const guards = createGuards(deps);
  const canManage = guards.requireRole(...FORM_ADMIN_ROLES);
  const canRead = guards.requireRole(...FORM_READ_ROLES);

  const checkedBody = (body: unknown): FormBody => {
    const form = body as FormBody;
    refusePhoneNumbers(formTexts(form), deps.config.phoneRegion, 'form');
    const problems = formProblems(form);
    if (problems.length > 0) throw errors.invalidForm(problems);
    return form;
  };
  const formId = (raw: unknown): string => {
    const id = String(raw);
    if (!ULID.test(id)) throw errors.notFound('Form');
    return id;
  };

  router.post('/v1/evaluation-forms', canManage, async (req, res) => {
    const principal = principalOf(req);
    const body = checkedBody(parseJsonBody(req, formBodySchema, 'form'));
    const created = await insertForm(deps.db.knex, {
      id: ulid(deps.clock.now()),
      definition: toDefinition(body),
      createdBy: principal.username,
      at: deps.clock.now(),
    });
    res.status(201).setHeader('Location', `/v1/evaluation-forms/${created.formId}`).json(presentFormVersion(created));
  });

  router.get('/v1/evaluation-forms', canRead, async (_req, res) => {
    const forms = await listForms(deps.db.knex);
    res.setHeader('Cache-Control', 'private, no-store');
    res.json({
      items: forms.map((f) => ({
        id: f.id,
        name: f.name,
        version: f.version,
        createdAt: new Date(f.createdAt).toISOString(),
      })),
    });
  });

  router.get('/v1/evaluation-forms/:id', canRead, async (req, res) => {
    const id = formId(req.params.id);
    const latest = await findFormVersion(deps.db.knex, id);
    if (!latest) throw errors.notFound('Form');
    res.setHeader('Cache-Control', 'private, no-store');
    res.json({ ...presentFormVersion(latest), versions: await listFormVersions(deps.db.knex, id) });
  });

  router.get('/v1/evaluation-forms/:id/versions/:version', canRead, async (req, res) => {
    const id = formId(req.params.id);
    const raw = String(req.params.version);
    const found = VERSION.test(raw) ? await findFormVersion(deps.db.knex, id, Number(raw)) : undefined;
    if (!found) throw errors.notFound('Form version');
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(presentFormVersion(found));
  });

  router.put('/v1/evaluation-forms/:id', canManage, async (req, res) => {
    const principal = principalOf(req);
    const id = formId(req.params.id);
    if (!(await findFormVersion(deps.db.knex, id))) throw errors.notFound('Form');
    const body = checkedBody(parseJsonBody(req, formBodySchema, 'form'));
    const created = await insertFormVersion(deps.db.knex, {
      formId: id,
      definition: toDefinition(body),
      createdBy: principal.username,
      at: deps.clock.now(),
    });
    if (!created) throw errors.notFound('Form');
    res
      .status(201)
      .setHeader('Location', `/v1/evaluation-forms/${id}/versions/${created.version}`)
      .json(presentFormVersion(created));
  });

  return router;
}
