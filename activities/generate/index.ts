/**
 * Generator registry, selected by OutputSettings.generator: the built-in offline generator, or
 * an LLM backend (OpenAI-compatible or Anthropic) configured by OutputSettings.llm.
 *
 * A generator's `id` names it in every row and keys the shards: for an LLM it carries backend,
 * model, prompt template version, language and the judge (`openai:llama3.1:qa-v1:English`).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { OutputSettings } from '../../schemas/index.js';
import { builtinGenerator } from './builtin.js';
import type { Generator } from './contract.js';
import { LlmGenerator } from './llm.js';
import { templateExists, availableTemplates } from './prompts.js';

export type GeneratorName = OutputSettings['generator'];

function llmGenerator(settings: OutputSettings): Generator {
  const name = settings.generator;
  if (name === 'builtin') throw new Error('unreachable');
  const llm = settings.llm;
  if (!llm) {
    throw ApplicationFailure.nonRetryable(`--generator ${name} needs LLM settings (at least --model)`, 'LlmSettingsMissing');
  }
  if (!templateExists(llm.template)) {
    throw ApplicationFailure.nonRetryable(
      `prompt template '${llm.template}' not found (available: ${availableTemplates().join(', ')})`,
      'PromptTemplateNotFound',
    );
  }
  // A new instance per call: cheap (the SDK client is made on first request), and it reads the
  // key from the environment as it is now.
  const gen = new LlmGenerator(name, llm);
  return {
    id: gen.id,
    generate: (chunk, ctx) => gen.generate(chunk, ctx),
    generateChunk: (chunk, ctx) => gen.generateChunk(chunk, ctx),
    ...(llm.judge ? { judge: (chunk, pairs, ctx) => gen.judge(chunk, pairs, ctx), minScore: llm.minScore } : {}),
  } satisfies Generator;
}

/**
 * The generator for a run's settings. A bare name still works for the built-in generator (it
 * needs no settings); LLM backends need the settings, which carry the model.
 */
export function getGenerator(nameOrSettings: GeneratorName | OutputSettings): Generator {
  const name = typeof nameOrSettings === 'string' ? nameOrSettings : nameOrSettings.generator;
  switch (name) {
    case 'builtin':
      return builtinGenerator;
    case 'openai':
    case 'anthropic':
      if (typeof nameOrSettings === 'string') {
        throw new Error(`getGenerator('${name}') needs the run's settings (model, template): pass them instead of the name`);
      }
      return llmGenerator(nameOrSettings);
    default: {
      // Exhaustiveness: adding a name to GeneratorName without a case is a type error.
      const unknown: never = name;
      throw new Error(`unknown generator: ${String(unknown)}`);
    }
  }
}

export { builtinGenerator };
export * from './contract.js';
