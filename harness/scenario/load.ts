/**
 * Reads a scenario file and validates it. Every problem is reported as
 * `file:line:column: key.path: what is wrong`, pointing at the offending key in the YAML.
 */
import { readFileSync } from 'node:fs';
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { type Scenario, scenarioSchema } from './schema.js';
import { allowedKeysAt } from './schema-keys.js';

export interface ScenarioProblem {
  file: string;
  line: number;
  column: number;
  key: string;
  message: string;
}

export class ScenarioError extends Error {
  readonly problems: ScenarioProblem[];
  constructor(problems: ScenarioProblem[]) {
    const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
    super(sorted.map(formatProblem).join('\n'));
    this.problems = sorted;
    this.name = 'ScenarioError';
  }
}

export function formatProblem(p: ScenarioProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return `${where}: ${p.key ? `${p.key}: ` : ''}${p.message}`;
}

export interface LoadedScenario {
  file: string;
  scenario: Scenario;
}

export function loadScenarioFile(file: string, knownBackends: readonly string[]): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ScenarioError([{ file, line: 0, column: 0, key: '', message: `cannot read: ${(error as Error).message}` }]);
  }
  return { file, scenario: parseScenario(text, file, knownBackends) };
}

export function parseScenario(text: string, file: string, knownBackends: readonly string[]): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, key: '', message: `YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  let data: unknown;
  try {
    // The YAML library stops alias bombs ("billion laughs") here, by throwing.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ScenarioError([{ file, line: 1, column: 1, key: '', message: `YAML: ${(error as Error).message.split('\n')[0]}` }]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ScenarioError([{ file, line: 1, column: 1, key: '', message: 'expected a mapping of keys (name, matrix, workloads, …)' }]);
  }
  const schema = scenarioSchema(knownBackends);
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const source: Source = { doc, lines: lineCounter, file, allowedKeys: (path) => allowedKeysAt(schema, path, data) };
  throw new ScenarioError(result.error.issues.flatMap((issue) => describeIssue(issue, source)));
}

/** Where a scenario came from, to place each problem in it. */
interface Source {
  doc: Document;
  lines: LineCounter;
  file: string;
  /** The keys the schema allows in the mapping at a path. */
  allowedKeys: (path: (string | number)[]) => string[];
}

function describeIssue(issue: z.core.$ZodIssue, { doc, lines, file, allowedKeys }: Source): ScenarioProblem[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (issue.code === 'unrecognized_keys') {
    const parent = nodeAt(doc, path);
    return issue.keys.map((key) => {
      const keyNode = isMap(parent) ? parent.items.find((pair) => isScalar(pair.key) && pair.key.value === key)?.key : undefined;
      const pos = position(keyNode as YamlNode | undefined, parent, lines);
      const known = isMap(parent) ? knownKeysHint(key, allowedKeys(path)) : '';
      return { file, ...pos, key: keyPath([...path, key]), message: `unknown key${known}` };
    });
  }
  const node = nodeAt(doc, path);
  const parent = nodeAt(doc, path.slice(0, -1));
  const missing = node === undefined && path.length > 0;
  const pos = position(node, parent, lines);
  let message = issue.message;
  if (missing && issue.code === 'invalid_type') message = 'is required';
  return [{ file, ...pos, key: keyPath(path), message }];
}

/** Suggests the nearest valid key for a misspelt one, or lists them all. */
function knownKeysHint(key: string, candidates: string[]): string {
  if (candidates.length === 0) return '';
  let best = '';
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(key, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= 2 ? ` (did you mean "${best}"?)` : ` (expected one of: ${candidates.join(', ')})`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

function keyPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function nodeAt(doc: Document, path: (string | number)[]): YamlNode | undefined {
  let node: unknown = doc.contents;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === step);
      node = pair?.value ?? undefined;
    } else if (isSeq(node) && typeof step === 'number') {
      node = node.items[step];
    } else if (isScalar(node) || node === undefined) {
      return node === undefined ? undefined : (node as YamlNode);
    } else {
      return undefined;
    }
  }
  return node as YamlNode | undefined;
}

function position(node: YamlNode | undefined, fallback: YamlNode | undefined, lines: LineCounter): { line: number; column: number } {
  const at = node?.range?.[0] ?? fallback?.range?.[0] ?? 0;
  const pos = lines.linePos(at);
  return { line: pos.line, column: pos.col };
}
