/**
 * What other features use of playback: the object-level check of a recording (404 for anything
 * a principal may not see). Features import playback only through this file (lint: eslint.config.js).
 */
export { loadVisibleRecording } from './access.js';
