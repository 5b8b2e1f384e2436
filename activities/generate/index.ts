/**
 * Generator registry. Only the built-in generator exists today; LLM backends will be added
 * here behind the same QaGenerator interface, selected by OutputSettings.generator.
 */
import type { QaGenerator } from '../types.js';
import { builtinGenerator } from './builtin.js';

export type GeneratorName = 'builtin';

export function getGenerator(name: GeneratorName): QaGenerator {
  switch (name) {
    case 'builtin':
      return builtinGenerator;
    default: {
      // Exhaustiveness: adding a name to GeneratorName without a case is a type error.
      const unknown: never = name;
      throw new Error(`unknown generator: ${String(unknown)}`);
    }
  }
}

export { builtinGenerator };
