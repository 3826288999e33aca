#!/usr/bin/env node
/**
 * Builds the optional native convolution addon (run by `npm install` / `npm ci` and by
 * `npm run build:native`). It needs a C compiler, Node's headers and libopenblas-dev; when any
 * is missing it says so and exits 0, because gradcam-ts then runs the same kernels on wasm alone.
 * Set GRADCAM_NATIVE=0 to skip the build.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const here = __dirname;
if (process.env.GRADCAM_NATIVE === '0') {
  console.log('gradcam-ts: native convolutions skipped (GRADCAM_NATIVE=0).');
  process.exit(0);
}
// binding.gyp takes OpenBLAS's flags from pkg-config, so that is the one question to ask (any
// architecture, any install prefix).
if (spawnSync('pkg-config', ['--exists', 'openblas']).status !== 0) {
  console.log('gradcam-ts: native convolutions not built: pkg-config does not find OpenBLAS (apt-get install pkg-config libopenblas-dev). The wasm kernels will be used.');
  process.exit(0);
}
// npm puts its bundled node-gyp in the environment of every script it runs; run by hand, take
// the node-gyp that ships inside npm beside this node, else one on PATH.
const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gyp = process.env.npm_config_node_gyp || (fs.existsSync(bundled) ? bundled : undefined);
// Offline, node-gyp must not try to download Node's headers: use this node's own when it has them
// (npm passes its `nodedir` setting itself).
const prefix = path.join(path.dirname(process.execPath), '..');
const ownHeaders = !process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'));
const gypArgs = ['rebuild', ...(ownHeaders ? [`--nodedir=${path.resolve(prefix)}`] : [])];
const command = gyp ? [process.execPath, [gyp, ...gypArgs]] : ['node-gyp', gypArgs];
const result = spawnSync(command[0], command[1], { cwd: here, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const built = path.join(here, 'build', 'Release', 'gradcam_native.node');
if (result.status === 0 && fs.existsSync(built)) {
  console.log(`gradcam-ts: native convolutions built (${path.relative(process.cwd(), built)}).`);
} else {
  const why = result.error ? result.error.message : (result.stderr || result.stdout || '').trim().split('\n').slice(-5).join('\n');
  console.log(`gradcam-ts: native convolutions not built; the wasm kernels will be used. node-gyp said:\n${why}`);
}
