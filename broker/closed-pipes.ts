/**
 * A reader that stops early (`nanomq csv … | head`, a dead `tee`, a closed terminal) closes the
 * pipe. What it did not read is dropped, quietly, instead of Node's stack trace for EPIPE (or EIO,
 * a hung-up terminal), and the program goes on to its own end and its own exit code: a run still
 * writes its results, compare still exits 4 on a regression (exiting 0 here would pass a CI gate
 * under pipefail), the broker keeps serving and stops gracefully when told.
 */
export function dropOutputToClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'EIO' || error.code === 'ERR_STREAM_DESTROYED') return;
      throw error;
    });
  }
}
