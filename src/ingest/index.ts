/**
 * What other features use from ingest: removal of a dead process's ingest temp folders (the
 * abandoned-upload sweep). Features import ingest only through this file (lint: eslint.config.js).
 */
export { removeStaleIngestTemp } from './temp.js';
export { addDropSource, listDropImports, listDropSources, removeDropSource } from './drop-sources.js';
export type { DropImportListRow, ImportListRow, NewDropSource } from './drop-sources.js';
export { createIngestTemp } from './temp.js';
export type { IngestTemp } from './temp.js';
export { originalTypeOf } from './ingest.js';
