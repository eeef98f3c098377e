/**
 * What other features use from retention: deleting one recording with its deletion-log entry
 * (erasure). Features import retention only through this file (lint: eslint.config.js).
 */
export { deleteRecording } from './delete-recording.js';
