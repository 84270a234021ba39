import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../implementations/package-root.js';

/** Scenario files shipped in scenarios/, as paths relative to the working directory. */
export function shippedScenarios(): string[] {
  const dir = join(packageRoot(), 'scenarios');
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      .sort()
      .map((f) => relative(process.cwd(), join(dir, f)) || f);
  } catch {
    return [];
  }
}
