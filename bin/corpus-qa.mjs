#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step, so `npx corpus-qa` works
// from a checkout or an install alike.
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

// V8 lets the old generation grow to up to 4x what survived the last full collection when
// collections are cheap, so on a fast machine a long run's heap swelled by ~200-300 MB of
// garbage before its first full collection (a 580 MB peak at 100k documents, ~400 MB after).
// 1.5x bounds that for about the same CPU (docs/scale.md). V8's flags are per process, so
// this holds for the extraction threads too. Set here, not as a node flag: worker threads
// inherit node's flags as execArgv and refuse V8-only ones (and NODE_OPTIONS refuses it).
if (!process.execArgv.some((a) => a.includes('heap-growing-percent'))) setFlagsFromString('--heap-growing-percent=50');

register();
const { main } = await import('../client/cli.ts');
await main(process.argv);
