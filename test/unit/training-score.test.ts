/**
 * The evaluation score (src/training/score.ts), table-driven with expectations computed by hand
 * in each row's comment: weights, "na" left out, scale and choice points, critical questions, sections.
 */
import { expect } from 'chai';
import type { Answer, FormDefinition, Question } from '../../src/domain/evaluation-forms.js';
import { answerPoints, computeScore } from '../../src/training/score.js';

const q = (overrides: Partial<Question> & Pick<Question, 'id'>): Question => ({
  text: `Question ${overrides.id}`,
  type: 'yesno',
  weight: 1,
  critical: false,
  ...overrides,
});

/**
 * Section 0 "Opening": greet (yesno, w1), name (yesno, w3, critical)
 * Section 1 "Solution": tone (scale, w2), outcome (choice, w4: solved 1, partly 0.5, not 0)
 */
const FORM: FormDefinition = {
  name: 'Inbound support',
  sections: [
    { title: 'Opening', questions: [q({ id: 'greet' }), q({ id: 'name', weight: 3, critical: true })] },
    {
      title: 'Solution',
      questions: [
        q({ id: 'tone', type: 'scale', weight: 2 }),
        q({
          id: 'outcome',
          type: 'choice',
          weight: 4,
          choices: [
            { value: 'solved', score: 1 },
            { value: 'partly', score: 0.5 },
            { value: 'not', score: 0 },
          ],
        }),
      ],
    },
  ],
};

interface Row {
  when: string;
  answers: Record<string, Answer>;
  total: number | null;
  sections: [number | null, number | null];
}

const ROWS: Row[] = [
  {
    when: 'every answer is the best',
    answers: { greet: 'yes', name: 'yes', tone: 5, outcome: 'solved' },
    // (1+3+2+4)/(1+3+2+4) = 100; sections 4/4, 6/6
    total: 100,
    sections: [100, 100],
  },
  {
    when: 'a non-critical yes/no is no',
    answers: { greet: 'no', name: 'yes', tone: 5, outcome: 'solved' },
    // (0+3+2+4)/10 = 90; opening 3/4 = 75
    total: 90,
    sections: [75, 100],
  },
  {
    when: 'scale 3 and a partial choice',
    answers: { greet: 'yes', name: 'yes', tone: 3, outcome: 'partly' },
    // tone (3-1)/4 = 0.5 → 1; outcome 0.5 → 2; (1+3+1+2)/10 = 70; solution 3/6 = 50
    total: 70,
    sections: [100, 50],
  },
  {
    when: 'scale 2 (a quarter point)',
    answers: { greet: 'yes', name: 'yes', tone: 2, outcome: 'solved' },
    // tone 0.25·2 = 0.5; (1+3+0.5+4)/10 = 85; solution 4.5/6 = 75
    total: 85,
    sections: [100, 75],
  },
  {
    when: 'a question is na, its weight is left out',
    answers: { greet: 'na', name: 'yes', tone: 5, outcome: 'partly' },
    // (3+2+2)/(3+2+4) = 7/9 = 77.777… → 77.78; opening 3/3; solution 4/6 = 66.67
    total: 77.78,
    sections: [100, 66.67],
  },
  {
    when: 'a whole section is na',
    answers: { greet: 'yes', name: 'yes', tone: 'na', outcome: 'na' },
    // 4/4 = 100; solution has nothing to count
    total: 100,
    sections: [100, null],
  },
  {
    when: 'the critical question fails, the total and its section are zero, the other section keeps its score',
    answers: { greet: 'yes', name: 'no', tone: 5, outcome: 'solved' },
    // plain arithmetic would be 7/10 = 70; critical zeroes total and opening
    total: 0,
    sections: [0, 100],
  },
  {
    when: 'the critical question is na, it does not fail',
    answers: { greet: 'no', name: 'na', tone: 1, outcome: 'not' },
    // (0+0+0)/(1+2+4) = 0 by arithmetic, not by the critical rule; opening 0/1
    total: 0,
    sections: [0, 0],
  },
  {
    when: 'every question is na',
    answers: { greet: 'na', name: 'na', tone: 'na', outcome: 'na' },
    total: null,
    sections: [null, null],
  },
  {
    when: 'questions are unanswered (a draft), they count as na',
    answers: { name: 'yes', outcome: 'partly' },
    // (3+2)/(3+4) = 71.43; opening 3/3; solution 2/4 = 50
    total: 71.43,
    sections: [100, 50],
  },
];

describe('evaluation score', function () {
  for (const row of ROWS) {
    it(`when ${row.when}, then the total is ${row.total} and the sections ${row.sections.map(String).join(', ')}`, () => {
      const result = computeScore(FORM, row.answers);
      expect(result.score).to.equal(row.total);
      expect(result.sections).to.deep.equal([
        { section: '0', title: 'Opening', score: row.sections[0] },
        { section: '1', title: 'Solution', score: row.sections[1] },
      ]);
    });
  }

  const critical = (overrides: Partial<Question>): FormDefinition => ({
    name: 'f',
    sections: [{ title: 'S', questions: [q({ id: 'c', critical: true, ...overrides }), q({ id: 'x', weight: 9 })] }],
  });
  const criticalRows: Array<[string, FormDefinition, Answer, number]> = [
    // scale 1 is 0 points: fails; x alone would give 9/10 = 90
    ['a critical scale question is answered 1', critical({ type: 'scale' }), 1, 0],
    // scale 2 is 0.25 points: does not fail; (0.25 + 9)/10 = 92.5
    ['a critical scale question is answered 2', critical({ type: 'scale' }), 2, 92.5],
    [
      'a critical choice scoring 0 is chosen',
      critical({
        type: 'choice',
        choices: [
          { value: 'bad', score: 0 },
          { value: 'ok', score: 0.5 },
        ],
      }),
      'bad',
      0,
    ],
    // (0.5 + 9)/10 = 95
    [
      'a critical choice scoring more than 0 is chosen',
      critical({
        type: 'choice',
        choices: [
          { value: 'bad', score: 0 },
          { value: 'ok', score: 0.5 },
        ],
      }),
      'ok',
      95,
    ],
  ];
  for (const [when, form, answer, expected] of criticalRows) {
    it(`when ${when}, then the total is ${expected}`, () => {
      expect(computeScore(form, { c: answer, x: 'yes' }).score).to.equal(expected);
    });
  }

  it('when an answer does not fit its question type, then it has no points (it does not count)', () => {
    expect(answerPoints(q({ id: 'a' }), 3)).to.equal(null);
    expect(answerPoints(q({ id: 'a', type: 'scale' }), 'yes')).to.equal(null);
    expect(answerPoints(q({ id: 'a', type: 'scale' }), 6)).to.equal(null);
    expect(answerPoints(q({ id: 'a', type: 'choice', choices: [{ value: 'v', score: 1 }] }), 'w')).to.equal(null);
  });
});
