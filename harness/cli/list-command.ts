import type { Command } from 'commander';
import { backends, networkBackends } from '../../implementations/registry.js';
import { shippedScenarios } from './scenario-files.js';
import { renderTable, TABLE_WIDTH } from './table.js';

export function registerList(program: Command): void {
  program
    .command('list')
    .description('backends with availability (and why not), and the scenarios found')
    .option('--json', 'machine-readable output')
    .option('--wide', `every column in full (default: fit ${TABLE_WIDTH} columns)`)
    .action((opts: { json?: boolean; wide?: boolean }) => {
      const rows = [...backends, ...networkBackends].map((b) => {
        const a = b.available();
        return { id: b.id, available: a.available, reason: a.reason ?? null, traits: b.traits, description: b.description };
      });
      const scenarios = shippedScenarios();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ backends: rows, scenarios }, null, 2)}\n`);
        return;
      }
      const traits = (t: (typeof rows)[number]['traits']) =>
        t.network
          ? `network, ≤${t.maxProducers} producers, ≤${t.maxConsumers} consumers, ${(t.workloads ?? []).join(', ')}`
          : `${t.maxProducers === 1 ? 'SPSC' : `≤${t.maxProducers} producers`}${t.zeroCopyRead ? ', zero-copy read' : ''}${t.canBlock ? ', can block' : ''}`;
      process.stdout.write(
        `${renderTable(
          ['backend', 'available', 'traits', 'notes'],
          rows.map((r) => [r.id, r.available ? 'yes' : 'no', traits(r.traits), r.reason ?? r.description]),
          new Set(),
          opts.wide ? undefined : { width: TABLE_WIDTH, shrink: [3, 2] },
        )}\n`,
      );
      process.stdout.write(`\nscenarios:\n${scenarios.map((s) => `  ${s}`).join('\n')}\n`);
    });
}
