/**
 * `nanomq baseline`: a gate-ready baseline, made on this machine, in one command.
 *
 * The shipped baselines come from another machine, so `compare` against them always warns and
 * its verdicts mix the machine into the code. A gate is only as good as a baseline from the
 * machine that runs the candidate, with the trials a verdict needs (MIN_TRIALS), in rounds
 * (the scenario default), kept at a path that does not change (`<out>/<scenario>.json`), so the
 * gate's command line does not either. A baseline already there is never overwritten without
 * --replace, and a run that failed or was interrupted is not kept as one: its results stay
 * where the run wrote them, and the message says where.
 */
import { constants, copyFileSync, existsSync, linkSync, mkdtempSync, readdirSync, renameSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { backendIds } from '../../implementations/registry.js';
import { MIN_TRIALS } from '../compare/compare.js';
import { BASELINE_TRIALS, CANDIDATE_TRIALS } from '../compare/follow-up.js';
import { loadScenarioFile, ScenarioError } from '../scenario/load.js';
import { parseTrialsFlag } from './arguments.js';
import { BadInput, ExitCode } from './exit.js';
import { prepareOutputFolder } from './output-folder.js';
import { runSuite } from './run-suite.js';

interface BaselineFlags {
  out: string;
  trials: string;
  backend?: string;
  replace?: boolean;
}

/**
 * Puts a finished result in place. Without --replace by a hard link, which fails if the name
 * was taken meanwhile (the check before the run is minutes old by now), so a baseline that
 * appeared during the run is never written over; with --replace by rename. A result the run
 * had to rescue to another disk is copied, exclusively unless replacing.
 */
function install(from: string, to: string, replace: boolean): void {
  try {
    if (replace) renameSync(from, to);
    else linkSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    copyFileSync(from, to, replace ? 0 : constants.COPYFILE_EXCL);
  }
  if (existsSync(from)) unlinkSync(from);
}

export function registerBaseline(program: Command): void {
  program
    .command('baseline')
    .description(`run scenarios with the trials compare needs (${MIN_TRIALS}+) and keep each result as <out>/<scenario>.json, the gate's baseline`)
    .argument('<scenario...>', 'scenario files (YAML)')
    .option('--out <dir>', 'folder for the baselines', 'results/local')
    .option('--trials <n>', `trials per case, at least ${MIN_TRIALS}`, String(BASELINE_TRIALS))
    .option('--backend <ids>', 'only these backends, comma-separated')
    .option('--replace', 'replace baselines already in --out')
    .action(async (files: string[], flags: BaselineFlags) => {
      const trials = parseTrialsFlag(flags.trials)!;
      if (trials < MIN_TRIALS)
        throw new BadInput(`--trials ${flags.trials}: a baseline needs at least ${MIN_TRIALS} trials a case, the fewest compare gives a verdict on`);
      // The target paths come from the scenarios' names: checked before anything runs.
      const names: string[] = [];
      const problems: string[] = [];
      for (const file of files) {
        try {
          names.push(loadScenarioFile(file, backendIds()).scenario.name);
        } catch (error) {
          if (!(error instanceof ScenarioError)) throw error;
          problems.push(error.message);
        }
      }
      if (problems.length > 0) throw new BadInput(`invalid scenario:\n${problems.join('\n')}`);
      const twice = names.find((n, i) => names.indexOf(n) !== i);
      if (twice !== undefined) throw new BadInput(`two scenarios are named ${twice}: each baseline is <out>/<scenario>.json, so the names must differ`);
      // Every input is checked (as --dry-run checks it) before anything is created.
      await runSuite(files, { out: flags.out, trials: String(trials), backend: flags.backend, dryRun: true, quiet: true });
      prepareOutputFolder(flags.out, '--out');
      const targets = names.map((n) => join(flags.out, `${n}.json`));
      const kept = targets.filter((t) => existsSync(t));
      const notFiles = kept.filter((t) => !statSync(t).isFile());
      if (notFiles.length > 0) throw new BadInput(`${notFiles.join(', ')}: is not a file; a baseline cannot go there`);
      if (kept.length > 0 && !flags.replace)
        throw new BadInput(`${kept.join(', ')}: a baseline is already there; --replace to make a new one, or choose another --out`);
      // The run writes into a folder of its own beside the baselines; they move into place only
      // once every scenario ran cleanly.
      const staging = mkdtempSync(join(flags.out, '.baseline-'));
      let keepStaging = false;
      try {
        const run = await runSuite(files, { out: staging, trials: String(trials), backend: flags.backend });
        if (run.exitCode !== ExitCode.Ok || run.written.length !== targets.length) {
          keepStaging = true;
          process.stderr.write(
            `nanomq baseline: the run did not finish cleanly (exit ${run.exitCode}): nothing was kept as a baseline; its results are in ${run.written.join(', ') || staging}\n`,
          );
          process.exitCode = run.exitCode === ExitCode.Ok ? ExitCode.Failed : run.exitCode;
          return;
        }
        const installed: string[] = [];
        for (const [k, written] of run.written.entries()) {
          try {
            install(written, targets[k], flags.replace === true);
            installed.push(targets[k]);
          } catch (error) {
            keepStaging = true;
            const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
            throw new BadInput(
              `could not put ${written} in place as ${targets[k]} (${code === 'EEXIST' ? 'a file appeared there during the run; --replace to replace it' : code}); ` +
                `${installed.length > 0 ? `baselines installed: ${installed.join(', ')}; ` : ''}the results not installed stay in ${staging}`,
            );
          }
        }
        const backend = flags.backend ? ` --backend ${flags.backend}` : '';
        for (const [k, target] of targets.entries()) {
          process.stdout.write(
            `baseline: ${target} (${trials} trials a case)\n  gate a change: nanomq run ${files[k]}${backend} --trials ${CANDIDATE_TRIALS} --confirm-against ${target} --out results/candidate\n`,
          );
        }
      } finally {
        // The staging folder is this command's own: removed when empty, kept (and named) when not.
        if (!keepStaging && existsSync(staging) && readdirSync(staging).length === 0) rmdirSync(staging);
      }
    });
}
