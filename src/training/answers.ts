/**
 * Whether an evaluation's answers and comments fit its form version (answered 422
 * `answers_mismatch`), beyond what the schema states:
 * - every answer names a question of the form and suits its type: yes | no | na (yesno),
 *   1..5 | na (scale), one of its choice values | na (choice);
 * - every per-question comment names a question of the form;
 * - a submitted evaluation answers every question (a draft may answer any subset);
 * - a timestamped comment lies within the call (0..callDurationMs).
 */
import type { Answer, FormDefinition, Question } from '../domain/evaluation-forms.js';
import type { FieldProblem } from '../errors.js';

function fits(question: Question, answer: Answer): boolean {
  if (answer === 'na') return true;
  switch (question.type) {
    case 'yesno':
      return answer === 'yes' || answer === 'no';
    case 'scale':
      return typeof answer === 'number' && Number.isInteger(answer) && answer >= 1 && answer <= 5;
    case 'choice':
      return typeof answer === 'string' && (question.choices ?? []).some((c) => c.value === answer);
  }
}

const EXPECTS: Record<Question['type'], string> = {
  yesno: 'expects yes, no or na',
  scale: 'expects 1 to 5 or na',
  choice: 'expects one of the question’s choices or na',
};

export interface EvaluationContent {
  answers: Record<string, Answer>;
  comments?: Record<string, string>;
  timedComments?: Array<{ offsetMs: number; text: string }>;
  status: 'draft' | 'submitted';
}

/** The problems of `content` against `form` for a call of `callDurationMs`; empty when it fits. */
export function answerProblems(
  form: FormDefinition,
  content: EvaluationContent,
  callDurationMs: number,
): FieldProblem[] {
  const questions = new Map(form.sections.flatMap((s) => s.questions.map((q) => [q.id, q] as const)));
  const problems: FieldProblem[] = [];
  for (const [id, answer] of Object.entries(content.answers)) {
    const question = questions.get(id);
    if (!question) problems.push({ field: `answers.${id}`, message: 'is not a question of this form version' });
    else if (!fits(question, answer)) problems.push({ field: `answers.${id}`, message: EXPECTS[question.type] });
  }
  for (const id of Object.keys(content.comments ?? {})) {
    if (!questions.has(id))
      problems.push({ field: `comments.${id}`, message: 'is not a question of this form version' });
  }
  if (content.status === 'submitted') {
    for (const id of questions.keys()) {
      if (!Object.hasOwn(content.answers, id))
        problems.push({ field: `answers.${id}`, message: 'is required to submit' });
    }
  }
  (content.timedComments ?? []).forEach((c, i) => {
    if (c.offsetMs > callDurationMs)
      problems.push({ field: `timedComments.${i}.offsetMs`, message: 'expects an offset within the call' });
  });
  return problems;
}

/** Every free text of an evaluation with its field path (for the phone-number rule). */
export function contentTexts(content: Omit<EvaluationContent, 'answers' | 'status'>): Array<[string, string]> {
  return [
    ...Object.entries(content.comments ?? {}).map(([id, text]): [string, string] => [`comments.${id}`, text]),
    ...(content.timedComments ?? []).map((c, i): [string, string] => [`timedComments.${i}.text`, c.text]),
  ];
}
