/**
 * The rules of a form that its schema cannot state (answered 422 `invalid_form`): question ids are
 * unique in the form, choice values unique in their question. A checked body becomes the stored
 * definition: `critical` always present, `choices` only on choice questions.
 */
import type { FormDefinition } from '../domain/evaluation-forms.js';
import type { FieldProblem } from '../errors.js';
import type { FormBody } from './schemas.js';

/** The problems of a schema-valid form body; empty when it is a form. */
export function formProblems(body: FormBody): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  body.sections.forEach((section, s) =>
    section.questions.forEach((question, q) => {
      const at = `sections.${s}.questions.${q}`;
      if (seen.has(question.id)) problems.push({ field: `${at}.id`, message: 'repeats the id of another question' });
      seen.add(question.id);
      if (question.type === 'choice') {
        const values = question.choices.map((c) => c.value);
        values.forEach((value, c) => {
          if (values.indexOf(value) !== c)
            problems.push({ field: `${at}.choices.${c}.value`, message: 'repeats another choice of the question' });
        });
      }
    }),
  );
  return problems;
}

/** The stored definition of a checked form body. */
export function toDefinition(body: FormBody): FormDefinition {
  return {
    name: body.name,
    sections: body.sections.map((section) => ({
      title: section.title,
      questions: section.questions.map((q) => ({
        id: q.id,
        text: q.text,
        type: q.type,
        weight: q.weight,
        critical: q.critical ?? false,
        ...(q.type === 'choice' ? { choices: q.choices.map((c) => ({ value: c.value, score: c.score })) } : {}),
      })),
    })),
  };
}

/** Every free text of a form with its field path (for the phone-number rule). */
export function formTexts(body: FormBody): Array<[string, string]> {
  const texts: Array<[string, string]> = [['name', body.name]];
  body.sections.forEach((section, s) => {
    texts.push([`sections.${s}.title`, section.title]);
    section.questions.forEach((q, i) => texts.push([`sections.${s}.questions.${i}.text`, q.text]));
  });
  return texts;
}
