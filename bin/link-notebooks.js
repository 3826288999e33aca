#!/usr/bin/env node
// Lets the notebooks in notebooks/ `import ... from "gradcam-ts"` exactly as a user's notebook does:
// notebooks/node_modules/gradcam-ts -> the repo (run by npm's `prepare` after install).
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'notebooks', 'node_modules');
const link = path.join(dir, 'gradcam-ts');
fs.mkdirSync(dir, { recursive: true });
try {
  if (fs.readlinkSync(link) === root) process.exit(0);
  fs.unlinkSync(link);
} catch {
  // no link yet
}
fs.symlinkSync(root, link, 'dir');
