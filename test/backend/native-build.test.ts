/**
 * The optional addon's build script, run on a copy of native/ (so the addon the other tests load is
 * untouched): a missing toolchain must never fail `npm install`, and a working one must produce
 * an addon that loads.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nativeAddonOrSkip } from '../support/native-fixture';

const NATIVE = path.resolve(__dirname, '..', '..', 'native');

function copyOfNative(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-native-'));
  for (const f of ['build.js', 'binding.gyp']) fs.copyFileSync(path.join(NATIVE, f), path.join(dir, f));
  fs.cpSync(path.join(NATIVE, 'src'), path.join(dir, 'src'), { recursive: true });
  return dir;
}

function runBuild(dir: string, env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [path.join(dir, 'build.js')], { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8' });
}

describe('native addon build script', function () {
  this.timeout(120000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('exits 0 and says the wasm kernels will be used when node-gyp cannot run', () => {
    const dir = copyOfNative();
    dirs.push(dir);
    const r = runBuild(dir, { npm_config_node_gyp: path.join(dir, 'no-such-node-gyp.js') });
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/native convolutions not built; the wasm kernels will be used/);
    expect(fs.existsSync(path.join(dir, 'build', 'Release', 'gradcam_native.node'))).to.equal(false);
  });

  it('skips on GRADCAM_NATIVE=0', () => {
    const dir = copyOfNative();
    dirs.push(dir);
    const r = runBuild(dir, { GRADCAM_NATIVE: '0' });
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/skipped \(GRADCAM_NATIVE=0\)/);
  });

  it('builds an addon that loads and convolves, where the toolchain and OpenBLAS are present', function () {
    nativeAddonOrSkip(this); // a machine that could not build the real addon cannot build this copy either
    const dir = copyOfNative();
    dirs.push(dir);
    const r = runBuild(dir, {});
    expect(r.status).to.equal(0);
    const built = path.join(dir, 'build', 'Release', 'gradcam_native.node');
    expect(r.stdout).to.match(/native convolutions built/);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const addon = require(built) as { conv2dForward(x: Float32Array, f: Float32Array, y: Float32Array, g: Int32Array): void };
    const y = new Float32Array(4);
    // 1x1 conv, 2 input channels -> 1 output: y = 2*x0 + 3*x1 at each of 4 pixels.
    addon.conv2dForward(Float32Array.of(1, 0, 0, 1, 1, 1, 2, -1), Float32Array.of(2, 3), y, Int32Array.from([1, 2, 2, 2, 1, 1, 1, 2, 2, 1, 1, 0, 0, 1, 1]));
    expect(Array.from(y)).to.deep.equal([2, 3, 5, 1]);
  });
});
