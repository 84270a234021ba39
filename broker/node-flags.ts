/**
 * The V8 flags every broker process runs with: `nanomq broker` starts its broker with them, and
 * so does the harness (implementations/broker/backend.ts), so the memory the harness measures is
 * the memory a user's broker takes.
 *
 * `--max-semi-space-size=1` keeps V8's young generation at 2 × 1 MiB (Node's default lets it grow
 * to 2 × 16 MiB). The broker's garbage is mostly frames copied out of reads and batches that die young; a
 * small young generation returns them sooner, at the cost of more, shorter scavenges. Measured
 * (docs/broker.md, "Limits", the flood's figures), three rounds of each, alternating:
 * - `node scripts/broker-flood.mjs --seconds 8 --node-flag=…`: peak RSS under the hostile-client
 *   flood 90.5–94.4 MiB, against 96.2–97.4 MiB with `--max-semi-space-size=4` (what the harness
 *   used before) and 75.4–77.1 MiB with `--optimize-for-size`;
 * - throughput, consumer groups and fan-out at batch 1 and 256 (3 trials each): msg/s 0.85–1.05×
 *   of `--max-semi-space-size=4`'s, peak RSS 8–23 MiB lower. `--optimize-for-size` (which also
 *   sets a 1 MiB young generation, and grows the old one less) cost 19–40% of the msg/s at
 *   batch 1 (consumer groups 0.60×), so it is not the default.
 *
 * `--expose-gc` lets the broker bound its old generation's garbage itself (broker/heap-goal.ts,
 * `--heap-headroom`): V8 alone let it grow to 150-170 MiB at batch 1.
 *
 * They must be given when the process starts: V8 sizes its heap before any script runs, and
 * `v8.setFlagsFromString` afterwards does not change it (tried).
 */
const SEMI_SPACE_MIB = 1;
export const BROKER_NODE_FLAGS: readonly string[] = [`--max-semi-space-size=${SEMI_SPACE_MIB}`, '--expose-gc'];
/**
 * V8's young generation under these flags: two semi-spaces and the young large-object space,
 * each at most a semi-space (broker/memory-bound.ts).
 */
export const BROKER_YOUNG_GENERATION_BYTES = 3 * SEMI_SPACE_MIB * 1024 * 1024;

/**
 * glibc's allocator settings for the broker process (GLIBC_TUNABLES; ignored by other C
 * libraries): one malloc arena for every thread (`arena_max=1`), so memory one thread frees
 * serves another's next allocation; glibc gives each thread an arena of its own, up to 8 per
 * core, and keeps what is freed in each. Measured in the broker (smaps): of a 112 MiB RSS at
 * batch 1, V8's heap was 20 MiB and buffers outside it 10 MiB, while malloc held 24 MiB in the
 * main heap and more in other threads' arenas. With one arena the worst case of
 * `scenarios/broker.yaml` fell from 108–110 to 98–101 MiB (docs/broker.md, "What the broker's
 * memory is"). `mmap_threshold=131072` beside it made no difference in two runs of that step
 * (not measured again with the later changes), so it is not set.
 */
export const BROKER_MALLOC_TUNABLES = 'glibc.malloc.arena_max=1';

/**
 * The environment the broker process runs in: `env` with the broker's allocator settings ahead
 * of any GLIBC_TUNABLES the user set (theirs come after, and a tunable named twice takes the
 * later value). A user's MALLOC_ARENA_MAX is theirs too: GLIBC_TUNABLES would override it, so
 * the broker's setting is then left out.
 */
export function brokerEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (hasBrokerEnvironment(env)) return { ...env };
  const own = env.GLIBC_TUNABLES;
  return { ...env, GLIBC_TUNABLES: own === undefined || own === '' ? BROKER_MALLOC_TUNABLES : `${BROKER_MALLOC_TUNABLES}:${own}` };
}

/** Whether this process runs in the broker's environment (brokerEnvironment) already. */
export function hasBrokerEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  // glibc ignores an empty or zero MALLOC_ARENA_MAX: that is no setting of the user's.
  return Number(env.MALLOC_ARENA_MAX ?? 0) > 0 || (env.GLIBC_TUNABLES ?? '').split(':').includes(BROKER_MALLOC_TUNABLES);
}

/** Whether this process was started with every one of the broker's V8 flags. */
export function hasBrokerNodeFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return BROKER_NODE_FLAGS.every((flag) => execArgv.includes(flag));
}
