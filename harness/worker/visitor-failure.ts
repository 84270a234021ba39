/**
 * What a consumer's visitor threw (the consumer has stopped: network-contract.ts): the role
 * rethrows it at its next look, and the trial fails with it instead of waiting out its grace.
 */
export class VisitorFailure {
  private error: { thrown: unknown } | undefined;
  readonly record = (thrown: unknown): void => {
    this.error ??= { thrown };
  };
  rethrow(): void {
    if (this.error !== undefined) throw this.error.thrown;
  }
}
