import type { ResultFile } from '../results/types.js';
export async function writeReport(_results: ResultFile[], _options: { sourcePaths: string[] }): Promise<{ htmlPath: string }> {
  throw new Error('reports are not implemented yet');
}
