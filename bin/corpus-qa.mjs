#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step, so `npx corpus-qa` works
// from a checkout or an install alike.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../client/cli.ts');
await main(process.argv);
