// Builds the optional native addon during `npm install` / `npm ci`. The addon is optional by
// design: without a compiler or Node headers this prints why and exits 0, and `nanomq list`
// shows the native backends as unavailable with the reason.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (process.env.NANOMQ_SKIP_NATIVE === '1') {
  console.log('nanomq: NANOMQ_SKIP_NATIVE=1, native addon not built');
  process.exit(0);
}

const args = ['rebuild'];
// node-gyp otherwise downloads headers, which fails offline; Debian's nodejs ships them in /usr.
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');

const result = spawnSync('node-gyp', args, { stdio: 'inherit', shell: process.platform === 'win32' });
if (result.error || result.status !== 0) {
  const why = result.error ? result.error.message : `node-gyp exited with ${result.status}`;
  console.warn(`nanomq: native addon not built (${why}); the native backends will be unavailable, everything else works.`);
}
process.exit(0);
