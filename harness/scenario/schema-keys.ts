/**
 * The keys the scenario schema allows at a place in a scenario, read from the zod schema itself,
 * so the "did you mean" hints for a misspelt key cannot drift from what the loader accepts.
 */
import type { z } from 'zod';

type Step = string | number;

/**
 * The keys allowed in the mapping at `path`, given the parsed `data` (which picks the branch of a
 * union such as a workload's `kind`); empty when the path does not lead to a mapping.
 */
export function allowedKeysAt(schema: z.ZodType, path: readonly Step[], data: unknown): string[] {
  let node: z.ZodType | undefined = resolve(schema, data);
  let value = data;
  for (const step of path) {
    if (node === undefined) return [];
    value = isRecord(value) || Array.isArray(value) ? (value as Record<Step, unknown>)[step] : undefined;
    node = resolve(child(node, step), value);
  }
  return keysOf(node);
}

/** A mapping's keys; for a union whose branch the data does not pick, every branch's keys. */
function keysOf(node: z.ZodType | undefined): string[] {
  const def = node?._zod.def;
  if (def?.type === 'object') return Object.keys((def as z.core.$ZodObjectDef).shape);
  if (def?.type === 'union') {
    const options = (def as z.core.$ZodUnionDef).options as z.ZodType[];
    return [...new Set(options.flatMap((option) => keysOf(resolve(option, undefined))))];
  }
  return [];
}

/** The schema under one step of a path: a mapping's key, a list's item, a record's value. */
function child(node: z.ZodType, step: Step): z.ZodType | undefined {
  const def = node._zod.def;
  if (def.type === 'object') return (def as z.core.$ZodObjectDef).shape[step] as z.ZodType | undefined;
  if (def.type === 'array') return (def as z.core.$ZodArrayDef).element as z.ZodType;
  if (def.type === 'record') return (def as z.core.$ZodRecordDef).valueType as z.ZodType;
  return undefined;
}

/**
 * Unwraps what does not change the keys: defaults, optionals, refinements and preprocessing
 * (a pipe whose mapping side is its output), and picks a union's branch by its discriminator.
 */
function resolve(node: z.ZodType | undefined, value: unknown): z.ZodType | undefined {
  for (let depth = 0; node !== undefined && depth < 16; depth++) {
    const def = node._zod.def as z.core.$ZodTypeDef & {
      innerType?: z.ZodType;
      in?: z.ZodType;
      out?: z.ZodType;
      options?: z.ZodType[];
      discriminator?: string;
    };
    if (def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'readonly') node = def.innerType;
    else if (def.type === 'pipe') node = def.out?._zod.def.type === 'transform' ? def.in : def.out;
    else if (def.type === 'union') {
      const chosen = branch(def.options ?? [], def.discriminator, value);
      if (chosen === undefined) return node;
      node = chosen;
    } else return node;
  }
  return node;
}

function branch(options: z.ZodType[], discriminator: string | undefined, value: unknown): z.ZodType | undefined {
  if (discriminator !== undefined && isRecord(value)) {
    const chosen = options.find((option) => {
      const field = child(resolve(option, undefined) ?? option, discriminator);
      const values = (field?._zod as { values?: Set<unknown> } | undefined)?.values;
      return values?.has(value[discriminator]) ?? false;
    });
    if (chosen !== undefined) return chosen;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
