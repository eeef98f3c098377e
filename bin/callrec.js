#!/usr/bin/env node
// The `callrec` bin: runs the TypeScript CLI through tsx (the package ships sources).
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
