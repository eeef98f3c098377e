/**
 * The score of an evaluation, computed on the server only (a client never sends one).
 *
 * Per question, points in 0..1: yes = 1, no = 0; scale v (1..5) = (v − 1) / 4; a choice = its
 * score. "na" (and an unanswered question) is left out: neither its weight nor its points count.
 *
 *   score = 100 · Σ weight·points / Σ weight   over the answered, non-"na" questions
 *
 * A section's score is the same sum over its own questions. A critical question fails when its
 * points are 0 (answer "no", scale 1, or a choice scoring 0): that zeroes the total score and the
 * score of the section holding it; the other sections keep their own arithmetic, so coaching still
 * sees where the rest of the call went well. A score with nothing to count (every question "na")
 * is null, unless a critical question failed (then 0). Scores are rounded to two decimals.
 */
import type { Answer, FormDefinition, Question } from '../domain/evaluation-forms.js';

export interface SectionScore {
  /** The section's index as a string ("0", "1", ...). */
  section: string;
  title: string;
  /** 0..100, or null when no question of the section counts. */
  score: number | null;
}

export interface ScoreResult {
  /** 0..100, or null when no question counts. */
  score: number | null;
  sections: SectionScore[];
}

/** Points of `answer` to `question` in 0..1, or null when it does not count ("na", unanswered, unknown). */
export function answerPoints(question: Question, answer: Answer | undefined): number | null {
  if (answer === undefined || answer === 'na') return null;
  switch (question.type) {
    case 'yesno':
      return answer === 'yes' ? 1 : answer === 'no' ? 0 : null;
    case 'scale':
      return typeof answer === 'number' && Number.isInteger(answer) && answer >= 1 && answer <= 5
        ? (answer - 1) / 4
        : null;
    case 'choice':
      return question.choices?.find((c) => c.value === answer)?.score ?? null;
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

interface Tally {
  weighted: number;
  weights: number;
  criticalFailed: boolean;
}

function tally(questions: readonly Question[], answers: Readonly<Record<string, Answer>>): Tally {
  const t: Tally = { weighted: 0, weights: 0, criticalFailed: false };
  for (const question of questions) {
    const points = answerPoints(question, Object.hasOwn(answers, question.id) ? answers[question.id] : undefined);
    if (points === null) continue;
    t.weighted += question.weight * points;
    t.weights += question.weight;
    if (question.critical && points === 0) t.criticalFailed = true;
  }
  return t;
}

function scoreOf(t: Tally): number | null {
  if (t.criticalFailed) return 0;
  return t.weights === 0 ? null : round2((100 * t.weighted) / t.weights);
}

/** The total and per-section scores of `answers` against `form` (see the module comment). */
export function computeScore(
  form: Pick<FormDefinition, 'sections'>,
  answers: Readonly<Record<string, Answer>>,
): ScoreResult {
  const total: Tally = { weighted: 0, weights: 0, criticalFailed: false };
  const sections = form.sections.map((section, index) => {
    const t = tally(section.questions, answers);
    total.weighted += t.weighted;
    total.weights += t.weights;
    total.criticalFailed ||= t.criticalFailed;
    return { section: String(index), title: section.title, score: scoreOf(t) };
  });
  return { score: scoreOf(total), sections };
}
