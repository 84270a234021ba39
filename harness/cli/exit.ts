/** Exit statuses shared by every command (docs/cli.md, "Exit codes"). */
export const ExitCode = { Ok: 0, Failed: 1, BadInput: 2, SloMissed: 3, Regression: 4, NotJudged: 5 } as const;

/** Bad input: an unreadable or invalid file, an unknown backend, a bad flag. Exits 2. */
export class BadInput extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInput';
  }
}
