/**
 * One real Temporal dev server for the whole test run, started from the Temporal CLI that
 * scripts/setup.sh installs (no SDK download, no mock). Tests get its address via inject().
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { ONE_PARTITION_ARGS } from '../client/server/devServer.js';
import { findTemporalCli } from '../client/server/temporalCli.js';
import { devServerSearchAttributeArgs } from '../workflows/searchAttributes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

let env: TestWorkflowEnvironment | undefined;

export async function setup(project: TestProject): Promise<void> {
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: findTemporalCli() },
      ip: '127.0.0.1',
      // As the embedded server is started (client/server/devServer.ts).
      extraArgs: ['--log-level', 'error', ...devServerSearchAttributeArgs(), ...ONE_PARTITION_ARGS],
    },
  });
  const address = env.connection.options.address;
  project.provide('temporalAddress', address);
  process.env.CORPUS_QA_TEST_TEMPORAL_ADDRESS = address;
}

export async function teardown(): Promise<void> {
  await env?.teardown();
}
