/** Scenarios written in a test: parsed as `nanomq run` parses a file, then run in this process. */
import type { ResultFile } from '../../harness/results/types.js';
import { type RunOptions, runScenario } from '../../harness/run/runner.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { backendIds } from '../../implementations/registry.js';

/** Runs the scenario `text`, named `file` in its errors and in the result. */
export function runScenarioText(text: string, file: string, options?: RunOptions): Promise<ResultFile> {
  return runScenario(parseScenario(text, file, backendIds()), file, options);
}
