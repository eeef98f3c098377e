/**
 * The calibration view of a call: how far the trainers who scored it blind lie apart, per question
 * and in total. Pure: the evaluations come in (submitted calibration evaluations of one form
 * version, in the order the view lists them: the routes sort by evaluator), the view goes out.
 *
 * A question's spread is 100 · (max − min) of the points (0..1, see score.ts) of the answers that
 * count ("na" and unanswered do not); null with fewer than two such answers. The score spread is
 * max − min of the evaluations' scores (null with fewer than two scores).
 */
import type { Answer, FormDefinition } from '../domain/evaluation-forms.js';
import { answerPoints } from './score.js';

export interface CalibrationInput {
  evaluator: string;
  answers: Record<string, Answer>;
  score: number | null;
}

export interface CalibrationView {
  evaluators: number;
  scores: { items: Array<{ evaluator: string; score: number | null }>; spread: number | null };
  questions: Array<{
    id: string;
    section: string;
    text: string;
    answers: Array<{ evaluator: string; answer: Answer | null; points: number | null }>;
    spread: number | null;
  }>;
}

function spreadOf(values: number[], scale: number): number | null {
  if (values.length < 2) return null;
  return Math.round(scale * (Math.max(...values) - Math.min(...values)) * 100) / 100;
}

/** The view of `evaluations` against `form`. */
export function calibrationView(form: FormDefinition, evaluations: readonly CalibrationInput[]): CalibrationView {
  const scores = evaluations.map((e) => ({ evaluator: e.evaluator, score: e.score }));
  return {
    evaluators: new Set(evaluations.map((e) => e.evaluator)).size,
    scores: {
      items: scores,
      spread: spreadOf(
        scores.flatMap((s) => (s.score === null ? [] : [s.score])),
        1,
      ),
    },
    questions: form.sections.flatMap((section, index) =>
      section.questions.map((question) => {
        const answers = evaluations.map((e) => {
          const answer = Object.hasOwn(e.answers, question.id) ? e.answers[question.id]! : null;
          return { evaluator: e.evaluator, answer, points: answerPoints(question, answer ?? undefined) };
        });
        return {
          id: question.id,
          section: String(index),
          text: question.text,
          answers,
          spread: spreadOf(
            answers.flatMap((a) => (a.points === null ? [] : [a.points])),
            100,
          ),
        };
      }),
    ),
  };
}
