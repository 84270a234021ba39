/**
 * The layering, enforced (`npm run lint`, part of `npm test`). docs/architecture.md draws it:
 *
 *   harness/cli ─▶ harness/{run, report, compare, micro, scenario, calibration}
 *                    └─▶ harness/{worker, metrics, results} ─▶ implementations/ ─▶ wire/ ─▶ (node only)
 *   harness/cli (broker command), implementations/broker, examples/ ─▶ broker/ ─▶ wal/, wire/
 *   implementations/wal ─▶ wal/ (the write-ahead log: node only)
 *
 * Queues sit on the ground floor and know nothing of the harness; the result schema is the
 * floor of the harness (everything reads it, it reads nothing that runs).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one: neither can be read, tested or moved alone.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'wire-is-the-ground',
      severity: 'error',
      comment: 'wire/ is the message format every layer uses; it depends on nothing of the project.',
      from: { path: '^wire/' },
      to: { pathNot: '^(wire/|node_modules/)', dependencyTypesNot: ['core'] },
    },
    {
      name: 'the-broker-stands-alone',
      comment: 'broker/ is a product of its own (server and client): it speaks wire/ and knows no backend and no harness.',
      severity: 'error',
      from: { path: '^broker/' },
      to: { path: '^(implementations|harness|examples)/' },
    },
    {
      name: 'the-log-stands-alone',
      comment: 'wal/ is the write-ahead log, a library of its own: it imports nothing of the project.',
      severity: 'error',
      from: { path: '^wal/' },
      to: { path: '^(wire|broker|implementations|harness|examples)/' },
    },
    {
      name: 'queues-know-no-harness',
      severity: 'error',
      comment: 'implementations/ is the ground floor: a backend may not import the harness that measures it.',
      from: { path: '^implementations/' },
      to: { path: '^harness/' },
    },
    {
      name: 'toolkits-know-no-backend',
      severity: 'error',
      comment:
        'implementations/shared/ holds the toolkits backends are built from (ring/, network/, server/); a toolkit stands on the contracts only, never on one backend.',
      from: { path: '^implementations/shared/' },
      to: { path: '^implementations/', pathNot: '^implementations/(shared/|contract\\.ts$|network-contract\\.ts$)' },
    },
    {
      name: 'rings-and-servers-need-no-network',
      severity: 'error',
      comment: 'The ring toolkit and the server toolkit do not depend on the network clients\' toolkit (the window in shared memory may use the ring\'s event count, not the other way).',
      from: { path: '^implementations/shared/(ring|server)/' },
      to: { path: '^implementations/shared/network/' },
    },
    {
      name: 'result-types-are-the-floor',
      severity: 'error',
      comment: 'results/types.ts describes the result file; it may import types from the scenario schema and nothing that runs or measures.',
      from: { path: '^harness/results/types\\.ts$' },
      to: { path: '^harness/(worker|metrics|run|calibration|report|compare|cli|micro)/' },
    },
    {
      name: 'metrics-are-pure',
      severity: 'error',
      comment: 'metrics/ is clocks, histograms, statistics and /proc readers; probes that drive backends live in calibration/.',
      from: { path: '^harness/metrics/' },
      to: { path: '^harness/(worker|run|calibration|report|compare|cli|micro|scenario)/|^implementations/(?!native/addon\\.ts$)' },
    },
    {
      name: 'commands-stand-alone',
      severity: 'error',
      comment: 'One CLI command may not import another; what they share lives in a shared module.',
      from: { path: '^harness/cli/([^/]+)-command\\.ts$' },
      to: { path: '^harness/cli/[^/]+-command\\.ts$', pathNot: '^harness/cli/$1-command\\.ts$' },
    },
    {
      name: 'workers-do-not-reach-up',
      severity: 'error',
      comment: 'Worker threads run queues and record figures; they never load the coordinator, reports or the CLI.',
      from: { path: '^harness/worker/' },
      to: { path: '^harness/(run|report|compare|cli|micro|calibration)/' },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A module nothing imports is dead code (entry points excepted).',
      from: {
        orphan: true,
        pathNot: ['\\.d\\.ts$', '^examples/(?!connect\\.ts$)', '^harness/cli/main\\.ts$', '^harness/worker/entry\\.ts$', '^harness/calibration/latency-floor-worker\\.ts$', '^harness/micro/ring-micro-worker\\.ts$', '^harness/calibration/network-floor-(worker|relay)\\.ts$', '^harness/notebook/index\\.ts$'],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
