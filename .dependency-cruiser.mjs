// Import rules for the server (server/, recordings/), run by `npm run lint`. docs/architecture.md explains
// the layers and the features; this file is where the rules are enforced.
//
// - Pure rule modules import only other pure modules, server/shared/ and the schema's enum constants,
//   and no package that does I/O: no database, HTTP, queues, sockets, files or network.
// - server/http/ is imported only by routes (*.routes.ts), the HTTP layer itself and the composition
//   (main.ts, infrastructure.ts, *.module.ts).
// - A feature imports another feature only through that feature's public modules (see PUBLIC below).
// - Nothing in production imports dev/, test/ or bench/.
// - No circular imports.

/** Pure rule modules: decisions as functions of their inputs, unit-tested without a database. */
const PURE = [
  'server/verification/(session-state|calling-hours|retry-policy|agent-selection|consent-texts|loan-file-standing)\\.ts',
  'server/checklists/(outcome-rules|randomize|template\\.schema)\\.ts',
  'server/loan-files/(loan-terms|maturity-change)\\.ts',
  'server/reviews/(review-sampling|recapture)\\.ts',
  'server/auth/(backoff|principal|password|tokens)\\.ts',
  'server/livekit/(dial-outcome|identities|observations|limits)\\.ts',
  'server/audit/(canonical-json|merkle|audit\\.actions)\\.ts',
  'server/automated-calls/(script|notes)\\.ts',
  'recordings/(retention|recording-state|liveness-check)\\.ts',
];
const PURE_PATH = `^(${PURE.join('|')})$`;

/** What every module may import: the shared kernel and the enum constants the schema generates. */
const SHARED = '^server/shared/|^server/db/generated/prisma/enums\\.ts$';
/** The generated Prisma client: a pure module may name its model types (import type), nothing more. */
const GENERATED = '^server/db/generated/prisma/';

/** Feature folders. server/{db,http,jobs,realtime,events,shared} and the root files are layers, not features. */
const FEATURE = '^(server/(?:audit|auth|automated-calls|checklists|health|livekit|loan-files|metrics|notifications|reviews|signing|supervision|users|verification)|recordings)/';

/**
 * A feature's public modules, which other features may import: its services (*.service.ts), its
 * repositories (*.repository.ts, the one writer of its tables), its composition (*.module.ts), its
 * contracts (*.schema.ts, *.actions.ts), its pure rules, and the plain-named modules listed here (ports
 * other features are handed, and helpers that run in the caller's transaction). Everything else — routes, job handlers, adapters' internals, CLIs — is private
 * to its folder.
 */
const PUBLIC = [
  '\\.(service|repository|module|schema|actions)\\.ts$',
  PURE_PATH,
  '^server/verification/(session-engine|loan-file-status)\\.ts$',
  '^server/livekit/(video-platform|participants)\\.ts$',
  '^server/audit/tree-head\\.ts$',
  '^server/auth/(authenticator|rate-limiter)\\.ts$',
  '^server/checklists/templates\\.ts$',
  '^server/notifications/notifier\\.ts$',
  '^server/metrics/event-lag\\.ts$',
  '^server/signing/(signer|keyring|certificates|ecdsa-signature|signing-identity)\\.ts$',
  '^recordings/(object-store|recording-lifecycle)\\.ts$',
];

/** Packages and Node built-ins that do I/O: a pure module imports none of them. */
const IO_PACKAGES = '^node_modules/(@prisma/|pg/|ioredis/|bullmq/|express/|socket\\.io/|@socket\\.io/|@aws-sdk/|livekit-server-sdk/|@livekit/rtc-node/|pino/|prom-client/|pdfkit/)';
const IO_BUILTINS = '^(node:)?(fs|fs/promises|net|http|https|http2|child_process|worker_threads|dgram|dns|tls|cluster)$';

export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Circular imports make load order matter and hide which module owns what.',
      from: { path: '^(server|recordings)/' },
      to: { circular: true },
    },
    {
      name: 'pure-imports-only-pure',
      severity: 'error',
      comment: 'A pure rule module may import only other pure modules, server/shared/ and the generated enum constants.',
      from: { path: PURE_PATH },
      to: { path: '^(server|recordings)/', pathNot: [PURE_PATH, SHARED, GENERATED] },
    },
    {
      name: 'pure-uses-only-generated-types',
      severity: 'error',
      comment: 'A pure rule module may import types of the generated Prisma client (import type), never the client itself.',
      from: { path: PURE_PATH },
      to: { path: GENERATED, pathNot: SHARED, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'pure-does-no-io',
      severity: 'error',
      comment: 'A pure rule module imports no package or built-in that does I/O.',
      from: { path: PURE_PATH },
      to: { path: [IO_PACKAGES, IO_BUILTINS] },
    },
    {
      name: 'http-only-in-transport',
      severity: 'error',
      comment: 'Only routes, the HTTP layer and the composition import server/http/; domain code raises AppError from server/shared/errors.ts.',
      from: {
        path: '^(server|recordings)/',
        pathNot: ['\\.routes\\.ts$', '^server/http/', '^server/(main|infrastructure)\\.ts$', '\\.module\\.ts$'],
      },
      to: { path: '^server/http/' },
    },
    {
      name: 'features-through-public-modules',
      severity: 'error',
      comment: 'Another feature is reached only through its public modules (PUBLIC in .dependency-cruiser.mjs).',
      from: { path: FEATURE },
      to: { path: FEATURE, pathNot: ['^$1/', ...PUBLIC] },
    },
    {
      name: 'no-dev-or-test-in-production',
      severity: 'error',
      comment: 'dev/, test/ and bench/ are tools around the product, never part of it.',
      from: { path: '^(server|recordings)/' },
      to: { path: '^(dev|test|bench)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: { path: '^(server|recordings)/' },
      // pdfkit's exports map nests "import" under "node", which the cruiser's resolver does not follow;
      // Node and TypeScript resolve it.
      to: { couldNotResolve: true, pathNot: '^pdfkit$' },
    },
  ],
  options: {
    // The generated client is cruised as a leaf: imports of it are checked, its own imports are not.
    doNotFollow: { path: ['node_modules', GENERATED] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'], conditionNames: ['import', 'require', 'node', 'default'], exportsFields: ['exports'] },
  },
};
