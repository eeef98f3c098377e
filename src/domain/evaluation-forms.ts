/**
 * The shapes of training-review forms and answers (issue #20), shared by the db module
 * (src/db/evaluations.ts) and the training feature (src/training/). Plain types: no imports.
 *
 * A form version is `{name, sections: [{title, questions}]}`; a section's id is its index as a
 * string ("0", "1", ...), as stored in `evaluation_section_scores.section_id`.
 */

export const QUESTION_TYPES = ['yesno', 'scale', 'choice'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export interface Choice {
  /** What an answer names; never "na" (that answer means "not applicable"). */
  value: string;
  /** Points of this choice, 0..1. */
  score: number;
}

export interface Question {
  /** Unique within the form. */
  id: string;
  text: string;
  type: QuestionType;
  /** > 0. */
  weight: number;
  /** A failed critical question zeroes the total score and its section's score (see score.ts). */
  critical: boolean;
  /** Choice questions only (2 or more). */
  choices?: Choice[];
}

export interface Section {
  title: string;
  questions: Question[];
}

export interface FormDefinition {
  name: string;
  sections: Section[];
}

/** One answer: "yes" | "no" (yesno), 1..5 (scale), a choice value (choice), or "na" for any type. */
export type Answer = string | number;

export const EVALUATION_STATUSES = ['draft', 'submitted', 'acknowledged', 'disputed'] as const;
export type EvaluationStatus = (typeof EVALUATION_STATUSES)[number];
