#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/cli (built by `npm run build`).
require('../dist/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`gradcam: ${err && err.message ? err.message : err}`); process.exitCode = 1; },
);
