/** Every benchmark `npm run bench` runs, in order. Each feature adds its own line. */
import type { Bench } from './types.js';

export const benches: Bench[] = [];
import { ingestBench } from './ingest.js';
benches.push(ingestBench);
import { objectStoreBench } from './object-store.js';
benches.push(objectStoreBench);
import { retentionBench } from './retention.js';
benches.push(retentionBench);
import { playbackBench } from './playback.js';
benches.push(playbackBench);
import { subjectsBench } from './subjects.js';
benches.push(subjectsBench);
import { retentionDeadlinesBench } from './retention-deadlines.js';
benches.push(retentionDeadlinesBench);
import { scaleBench } from './scale.js';
benches.push(scaleBench);
import { soakBench } from './soak.js';
benches.push(soakBench);
import { cardBench } from './card.js';
benches.push(cardBench);
