/**
 * Generators by OutputSettings.generator: the built-in offline generator, or an LLM backend
 * (OpenAI-compatible or Anthropic) configured by OutputSettings.llm.
 *
 * A generator's id names it in every row and keys the shards: for an LLM it carries backend,
 * model, prompt template version, language and the judge (`openai:llama3.1:qa-v2:English`).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { OutputSettings } from '../../schemas/index.js';
import { builtinGenerator } from './builtin/index.js';
import type { Generator } from './contract.js';
import { LlmGenerator, llmGeneratorId, type GeneratorEnv } from './llm.js';
import { availableTemplates, templateExists } from './prompts.js';

export type { GeneratorEnv } from './llm.js';

function llmSettingsOf(settings: OutputSettings) {
  const llm = settings.llm;
  if (!llm) {
    throw ApplicationFailure.nonRetryable(`--generator ${settings.generator} needs LLM settings (at least --model)`, 'LlmSettingsMissing');
  }
  if (!templateExists(llm.template)) {
    throw ApplicationFailure.nonRetryable(
      `prompt template '${llm.template}' not found (available: ${availableTemplates().join(', ')})`,
      'PromptTemplateNotFound',
    );
  }
  return llm;
}

/** The id of the run's generator, without creating one (no key, no network). */
export function generatorId(settings: OutputSettings): string {
  return settings.generator === 'builtin' ? builtinGenerator.id : llmGeneratorId(settings.generator, llmSettingsOf(settings), settings.chunkSize);
}

/** The generator for a run's settings, bound to where the run keeps its journal. */
export function createGenerator(settings: OutputSettings, env: GeneratorEnv): Generator {
  const name = settings.generator;
  switch (name) {
    case 'builtin':
      return builtinGenerator;
    case 'openai':
    case 'anthropic':
      return new LlmGenerator(name, llmSettingsOf(settings), env, settings.chunkSize);
    default: {
      // Exhaustiveness: adding a name to the enum without a case is a type error.
      const unknown: never = name;
      throw new Error(`unknown generator: ${String(unknown)}`);
    }
  }
}

export { builtinGenerator };
export * from './contract.js';
