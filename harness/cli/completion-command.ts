/**
 * `nanomq completion bash|zsh`: a shell completion script, made from the program's own
 * commands and options, so it cannot fall behind them. Commands and flags complete by name;
 * arguments complete as files (scenario YAML for run, dry runs and baselines; result JSON for
 * the rest), `--backend` as backend ids. zsh runs the bash function through bashcompinit.
 *
 *   eval "$(nanomq completion bash)"     # in ~/.bashrc
 *   eval "$(nanomq completion zsh)"      # in ~/.zshrc
 *
 * It completes the `nanomq` command on the PATH (npm link, or a global install from a
 * checkout), not `npx nanomq`.
 */
import type { Command } from 'commander';
import { backends, networkBackends } from '../../implementations/registry.js';
import { BadInput } from './exit.js';

function bashScript(program: Command, brokerFlags: string[]): string {
  // Hidden commands (`_trial`, for forked trials) are not offered.
  const commands = program.commands.filter((c) => !c.name().startsWith('_'));
  const names = [...commands.map((c) => c.name()), 'help'];
  const cases = commands.map((c) => {
    const flags = c.name() === 'broker' ? brokerFlags : [...c.options.map((o) => o.long).filter((l): l is string => l !== undefined), '--help'];
    const files = ['run', 'baseline'].includes(c.name()) ? '*.@(yaml|yml)' : ['compare', 'report', 'csv'].includes(c.name()) ? '*.json' : '';
    return `    ${c.name()}) flags="${flags.join(' ')}"; files='${files}' ;;`;
  });
  const ids = [...backends, ...networkBackends].map((b) => b.id).join(' ');
  return `# nanomq completion for bash (nanomq completion bash)
_nanomq() {
  local cur prev command flags files
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${names.join(' ')} --help --version" -- "$cur") )
    return
  fi
  command="\${COMP_WORDS[1]}"
  case "$command" in
${cases.join('\n')}
    help) COMPREPLY=( $(compgen -W "${names.join(' ')}" -- "$cur") ); return ;;
    *) return ;;
  esac
  case "$prev" in
    --backend) COMPREPLY=( $(compgen -W "${ids}" -- "$cur") ); return ;;
    --out|--log|--tls-cert|--tls-key|--baseline) local IFS=$'\\n'; COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
  elif [ -n "$files" ]; then
    local IFS=$'\\n'
    COMPREPLY=( $(compgen -f -X "!$files" -- "$cur") $(compgen -d -- "$cur") )
  fi
}
shopt -s extglob 2>/dev/null
complete -o filenames -F _nanomq nanomq
`;
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a completion script for bash or zsh (eval "$(nanomq completion bash)" in ~/.bashrc)')
    .argument('<shell>', 'bash or zsh')
    .action(async (shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') throw new BadInput(`completion ${shell}: expected bash or zsh`);
      // The broker parses its own flags (broker/main.ts); loaded only here.
      const { brokerFlags } = await import('../../broker/main.js');
      const script = bashScript(program, brokerFlags());
      process.stdout.write(
        shell === 'bash' ? script : `# nanomq completion for zsh (nanomq completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${script}`,
      );
    });
}
