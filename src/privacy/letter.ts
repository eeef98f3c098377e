/**
 * The answer to the data subject (GDPR Art. 12(1), 12(4)): a plain, printable HTML letter in
 * Dutch or English, rendered from the request and its timeline. A pure function: the caller
 * passes the request (with timeline) and the instant the letter is dated.
 *
 * Contract:
 * - States what was asked and when, what was found (the recordings the searches and exports
 *   under the request concerned), what was done (exports, erasures with each recording's
 *   deletion-log entry, restriction and its lifting, corrections by field, extensions with
 *   their reason), what was refused and why (erasures refused for a legal hold, the close
 *   reason), the outcome, and the right to complain to the Autoriteit Persoonsgegevens.
 * - Every text from the register (reasons, references, numbers) is HTML-escaped.
 * - Self-contained: one inline stylesheet (screen and print), allowed by its hash in the
 *   response's Content-Security-Policy (`LETTER_STYLE_HASH`); no script, no external resource.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_TIME_ZONE } from './deadline.js';
import type { PrivacyRequestDetail, TimelineEvent } from './register.js';

export const LETTER_LANGUAGES = ['nl', 'en'] as const;
export type LetterLanguage = (typeof LETTER_LANGUAGES)[number];

export const LETTER_STYLE =
  `
body { font: 11pt/1.5 Georgia, 'Times New Roman', serif; color: #111; ` +
  `max-width: 42em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 14pt; margin: 1.5em 0 0.5em; }
h2 { font-size: 12pt; margin: 1.2em 0 0.3em; }
.meta { color: #444; }
ul { padding-left: 1.2em; }
code { font-family: 'DejaVu Sans Mono', Consolas, monospace; font-size: 9.5pt; }
@media print { body { margin: 0; max-width: none; } @page { size: A4; margin: 2.5cm 2cm; } }
`;
/** The CSP source that allows exactly `LETTER_STYLE` as an inline stylesheet. */
export const LETTER_STYLE_HASH = `'sha256-${createHash('sha256').update(LETTER_STYLE).digest('base64')}'`;

const escapeHtml = (text: string) =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

interface Texts {
  title: string;
  salutation: string;
  kinds: Record<PrivacyRequestDetail['kind'], string>;
  intro: (received: string, kind: string, reference: string) => string;
  foundHeading: string;
  found: (numbers: string, count: number) => string;
  doneHeading: string;
  nothingDone: string;
  exported: (date: string, count: number) => string;
  erased: (date: string, count: number) => string;
  erasedEntry: (id: string, seq: number) => string;
  refused: (count: number) => string;
  restricted: (date: string) => string;
  unrestricted: (date: string) => string;
  corrected: (date: string, fields: string) => string;
  fieldNames: Record<string, string>;
  extended: (months: number, due: string, reason: string) => string;
  outcomeHeading: string;
  outcomes: Record<NonNullable<PrivacyRequestDetail['outcome']>, string>;
  reason: string;
  pending: (due: string) => string;
  complaint: string;
  closing: string;
  signature: string;
  locale: string;
}

const NL: Texts = {
  title: 'Antwoord op uw verzoek',
  salutation: 'Geachte heer, mevrouw,',
  kinds: {
    access: 'inzage in de gespreksopnamen waarin uw telefoonnummer voorkomt',
    copy: 'een kopie van de gespreksopnamen waarin uw telefoonnummer voorkomt',
    erasure: 'het wissen van de gespreksopnamen waarin uw telefoonnummer voorkomt',
    objection: 'bezwaar tegen het gebruik van de gespreksopnamen waarin uw telefoonnummer voorkomt',
    restriction: 'beperking van het gebruik van de gespreksopnamen waarin uw telefoonnummer voorkomt',
    correction: 'correctie van de gegevens die wij bij uw gesprekken hebben vastgelegd',
  },
  intro: (received, kind, reference) =>
    `Op ${received} ontvingen wij uw verzoek om ${kind}. Wij hebben uw verzoek geregistreerd onder kenmerk ` +
    `${reference}. In deze brief leest u wat wij hebben gevonden, wat wij hebben gedaan en wat de uitkomst is.`,
  foundHeading: 'Wat wij hebben gevonden',
  found: (numbers, count) =>
    count === 0
      ? `Wij hebben gezocht naar opnamen van gesprekken met ${numbers}. Wij hebben geen opnamen gevonden.`
      : `Wij hebben gezocht naar opnamen van gesprekken met ${numbers}. Wij hebben ` +
        `${count === 1 ? 'één opname' : `${count} opnamen`} gevonden.`,
  doneHeading: 'Wat wij hebben gedaan',
  nothingDone: 'Wij hebben (nog) geen handelingen voor uw verzoek uitgevoerd.',
  exported: (date, count) =>
    `Op ${date} hebben wij een kopie gemaakt van ${count === 1 ? 'één opname' : `${count} opnamen`}. In het bestand ` +
    `manifest.json in die kopie staat bij elk bestand een SHA-256-controlegetal, waarmee u kunt nagaan dat de ` +
    `bestanden volledig en ongewijzigd zijn.`,
  erased: (date, count) =>
    `Op ${date} hebben wij ${count === 1 ? 'één opname' : `${count} opnamen`} gewist. Elke wissing staat in ons ` +
    `wislogboek, dat achteraf niet ongemerkt kan worden gewijzigd:`,
  erasedEntry: (id, seq) => `opname <code>${id}</code>: vermelding nr. ${seq} in het wislogboek`,
  refused: (count) =>
    `${count === 1 ? 'Eén opname hebben' : `${count} opnamen hebben`} wij niet gewist, omdat wij ` +
    `${count === 1 ? 'deze' : 'deze opnamen'} moeten bewaren voor een juridische procedure (artikel 17, derde lid, ` +
    `onder e, AVG). Zodra die bewaarplicht vervalt, wissen wij ` +
    `${count === 1 ? 'ook deze opname' : 'ook deze opnamen'}.`,
  restricted: (date) =>
    `Vanaf ${date} schermen wij de opnamen met uw telefoonnummer af: medewerkers gebruiken ze niet meer voor ` +
    `training of kwaliteitscontrole, ook niet als er later nieuwe opnamen bij komen. Na de gewone bewaartermijn ` +
    `van 30 dagen worden ze gewist.`,
  unrestricted: (date) => `Op ${date} hebben wij die afscherming weer opgeheven.`,
  corrected: (date, fields) => `Op ${date} hebben wij bij een opname ${fields} gecorrigeerd.`,
  fieldNames: {
    callerNumber: 'het nummer van de beller',
    calleeNumber: 'het gebelde nummer',
    agentId: 'de medewerker',
    queue: 'de wachtrij',
  },
  extended: (months, due, reason) =>
    `Wij hebben de termijn voor ons antwoord met ${months === 1 ? 'één maand' : `${months} maanden`} verlengd, tot ` +
    `en met ${due}. De reden: ${reason}`,
  outcomeHeading: 'De uitkomst',
  outcomes: {
    fulfilled: 'Wij hebben uw verzoek volledig uitgevoerd.',
    partially_fulfilled: 'Wij hebben uw verzoek gedeeltelijk uitgevoerd.',
    refused: 'Wij hebben uw verzoek afgewezen.',
    withdrawn: 'U hebt uw verzoek ingetrokken. Wij hebben het daarom afgesloten.',
  },
  reason: 'Toelichting:',
  pending: (due) => `Uw verzoek is nog in behandeling. U ontvangt ons antwoord uiterlijk op ${due}.`,
  complaint:
    'Bent u het niet eens met de manier waarop wij uw verzoek hebben behandeld? Dan kunt u een klacht indienen bij ' +
    'de Autoriteit Persoonsgegevens (www.autoriteitpersoonsgegevens.nl). U kunt ook naar de rechter stappen.',
  closing: 'Met vriendelijke groet,',
  signature: 'Functionaris voor gegevensbescherming',
  locale: 'nl-NL',
};

const EN: Texts = {
  title: 'Our answer to your request',
  salutation: 'Dear Sir or Madam,',
  kinds: {
    access: 'access to the call recordings in which your phone number appears',
    copy: 'a copy of the call recordings in which your phone number appears',
    erasure: 'erasure of the call recordings in which your phone number appears',
    objection: 'an objection to the use of the call recordings in which your phone number appears',
    restriction: 'restriction of the use of the call recordings in which your phone number appears',
    correction: 'correction of the details we recorded about your calls',
  },
  intro: (received, kind, reference) =>
    `On ${received} we received your request for ${kind}. We registered it under reference ${reference}. This letter ` +
    `tells you what we found, what we did, and the outcome.`,
  foundHeading: 'What we found',
  found: (numbers, count) =>
    count === 0
      ? `We searched for recordings of calls with ${numbers}. We found no recordings.`
      : `We searched for recordings of calls with ${numbers}. We found ` +
        `${count === 1 ? 'one recording' : `${count} recordings`}.`,
  doneHeading: 'What we did',
  nothingDone: 'We have not taken any action on your request yet.',
  exported: (date, count) =>
    `On ${date} we made a copy of ${count === 1 ? 'one recording' : `${count} recordings`}. The file manifest.json ` +
    `in that copy gives a SHA-256 checksum for every file, so you can check that the files are complete and ` +
    `unchanged.`,
  erased: (date, count) =>
    `On ${date} we erased ${count === 1 ? 'one recording' : `${count} recordings`}. Each erasure is recorded in our ` +
    `deletion log, which cannot be changed afterwards without that being detected:`,
  erasedEntry: (id, seq) => `recording <code>${id}</code>: entry no. ${seq} in the deletion log`,
  refused: (count) =>
    `We did not erase ${count === 1 ? 'one recording' : `${count} recordings`}, because we must keep ` +
    `${count === 1 ? 'it' : 'them'} for legal proceedings (Article 17(3)(e) GDPR). As soon as that obligation ` +
    `ends, we will erase ${count === 1 ? 'it' : 'them'} as well.`,
  restricted: (date) =>
    `From ${date} we have restricted the recordings with your phone number: staff no longer use them for training or ` +
    `quality review, and this also applies to any new recordings. They are erased at the end of the normal 30-day ` +
    `retention period.`,
  unrestricted: (date) => `On ${date} we lifted that restriction.`,
  corrected: (date, fields) => `On ${date} we corrected ${fields} of a recording.`,
  fieldNames: {
    callerNumber: 'the caller’s number',
    calleeNumber: 'the number called',
    agentId: 'the agent',
    queue: 'the queue',
  },
  extended: (months, due, reason) =>
    `We extended the period for our answer by ${months === 1 ? 'one month' : `${months} months`}, up to and ` +
    `including ${due}. The reason: ${reason}`,
  outcomeHeading: 'The outcome',
  outcomes: {
    fulfilled: 'We have carried out your request in full.',
    partially_fulfilled: 'We have carried out part of your request.',
    refused: 'We have refused your request.',
    withdrawn: 'You withdrew your request, so we have closed it.',
  },
  reason: 'Explanation:',
  pending: (due) => `Your request is still being handled. You will receive our answer by ${due} at the latest.`,
  complaint:
    'If you disagree with how we handled your request, you may lodge a complaint with the Dutch Data Protection ' +
    'Authority, the Autoriteit Persoonsgegevens (www.autoriteitpersoonsgegevens.nl). You may also go to court.',
  closing: 'Yours faithfully,',
  signature: 'Data Protection Officer',
  locale: 'en-GB',
};

/** The value after `key=` in a timeline detail (`months=1 dueAt=… reason=…`: reason is the rest). */
function detailValue(detail: string | null, key: string): string | undefined {
  if (!detail) return undefined;
  const match = new RegExp(`(?:^| )${key}=(${key === 'reason' ? '.*' : '\\S*'})`, 's').exec(detail);
  return match?.[1];
}

function listOf(items: string[], lang: LetterLanguage): string {
  if (items.length <= 1) return items.join('');
  const and = lang === 'nl' ? 'en' : 'and';
  return `${items.slice(0, -1).join(', ')} ${and} ${items.at(-1)}`;
}

/** The letter as a complete HTML document. */
export function renderLetter(options: {
  request: PrivacyRequestDetail;
  lang: LetterLanguage;
  now: number;
  timeZone?: string;
}): string {
  const { request, lang } = options;
  const t = lang === 'nl' ? NL : EN;
  const date = (iso: string | number) =>
    new Intl.DateTimeFormat(t.locale, { dateStyle: 'long', timeZone: options.timeZone ?? DEFAULT_TIME_ZONE }).format(
      new Date(iso),
    );
  const e = escapeHtml;
  const events = request.timeline;
  const of = (action: string) => events.filter((ev) => ev.action === action);

  const found = new Set<string>();
  for (const ev of [...of('search'), ...of('export')]) for (const id of ev.recordingIds) found.add(id);
  const searched = of('search').length + of('export').length > 0;

  // Each erased recording has its own event (written with its deletion-log entry): consecutive
  // erasures of one day read as one paragraph.
  const merged: TimelineEvent[] = [];
  for (const ev of events) {
    const last = merged[merged.length - 1];
    if (ev.action === 'erase' && last?.action === 'erase' && date(last.at) === date(ev.at)) {
      merged[merged.length - 1] = {
        ...last,
        recordingIds: [...last.recordingIds, ...ev.recordingIds],
        deletionSeqs: [...last.deletionSeqs, ...ev.deletionSeqs],
      };
    } else merged.push(ev);
  }
  const done: string[] = [];
  for (const ev of merged) done.push(...describe(ev));
  function describe(ev: TimelineEvent): string[] {
    switch (ev.action) {
      case 'export':
        return [e(t.exported(date(ev.at), ev.recordingIds.length))];
      case 'erase': {
        const entries = ev.recordingIds
          .map((id, i) => `<li>${t.erasedEntry(e(id), ev.deletionSeqs[i] ?? 0)}</li>`)
          .join('');
        return [`${e(t.erased(date(ev.at), ev.recordingIds.length))}<ul>${entries}</ul>`];
      }
      case 'erase_refused':
        return [e(t.refused(ev.recordingIds.length))];
      case 'restrict':
        return [e(t.restricted(date(ev.at)))];
      case 'unrestrict':
        return [e(t.unrestricted(date(ev.at)))];
      case 'correct': {
        const fields = (detailValue(ev.detail, 'fields') ?? '')
          .split(',')
          .filter(Boolean)
          .map((f) => t.fieldNames[f] ?? f);
        return [e(t.corrected(date(ev.at), listOf(fields, lang)))];
      }
      case 'extended': {
        const months = Number(detailValue(ev.detail, 'months') ?? 1);
        const due = detailValue(ev.detail, 'dueAt');
        return [e(t.extended(months, due ? date(due) : date(request.dueAt), detailValue(ev.detail, 'reason') ?? ''))];
      }
      default:
        return [];
    }
  }

  const closeReason = request.closeReason ? `<p>${e(t.reason)} ${e(request.closeReason)}</p>` : '';
  const outcome = request.outcome
    ? `<p>${e(t.outcomes[request.outcome])}</p>${closeReason}`
    : `<p>${e(t.pending(date(request.dueAt)))}</p>`;

  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<title>${e(t.title)} — ${e(request.reference)}</title>
<style>${LETTER_STYLE}</style>
</head>
<body>
<p class="meta">${e(date(options.now))}<br>${lang === 'nl' ? 'Kenmerk' : 'Reference'}: ${e(request.reference)}</p>
<h1>${e(t.title)}</h1>
<p>${e(t.salutation)}</p>
<p>${e(t.intro(date(request.receivedAt), t.kinds[request.kind], request.reference))}</p>
${searched ? `<h2>${e(t.foundHeading)}</h2>\n<p>${e(t.found(listOf(request.phones, lang), found.size))}</p>` : ''}
<h2>${e(t.doneHeading)}</h2>
${done.length ? done.map((d) => `<p>${d}</p>`).join('\n') : `<p>${e(t.nothingDone)}</p>`}
<h2>${e(t.outcomeHeading)}</h2>
${outcome}
<p>${e(t.complaint)}</p>
<p>${e(t.closing)}<br>${e(t.signature)}</p>
</body>
</html>
`;
}
