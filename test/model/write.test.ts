/**
 * Writing files (issue 19): a destination that cannot be written gets a sentence with the fix
 * instead of a raw EISDIR/EACCES/ENOTDIR, no temp file is left behind, and nothing is ever
 * written into the package's models folder (a quick `gradcam train` once replaced the shipped model).
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { main } from '../../src/cli/main';
import { saveCheckpoint } from '../../src/model/checkpoint';
import { describeWriteError, OutputPathError, saveModel, writeFileAtomic } from '../../src/model/io';
import { assertNotShippedModelDir, SHIPPED_CHECKPOINT_DIR, SHIPPED_MODEL_DIR, SHIPPED_MODELS_ROOT, ShippedModelReadOnlyError } from '../../src/model/shipped';
import { encodePng, writePng } from '../../src/render';
import { rejection } from '../support/setup';

const PNG = encodePng({ width: 2, height: 2, data: new Uint8ClampedArray(12) });

/** Files in `dir` whose names say they are temp files. */
function temps(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')) : [];
}

/** A listing of the shipped models folder with sizes and modification times, to prove it unchanged. */
function snapshot(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => {
    const p = path.join(e.parentPath ?? e.path, e.name);
    const st = fs.statSync(p);
    return `${p} ${st.size} ${st.mtimeMs}`;
  }).sort();
}

describe('writing files', function () {
  this.timeout(120000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-write-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('writeFileAtomic names an unwritable destination and leaves no temp file', () => {
    it('a folder as the destination: "is a folder; give a file name, such as .../gradcam.png"', () => {
      const folder = path.join(dir, 'figures');
      fs.mkdirSync(folder);
      expect(() => writeFileAtomic(folder, PNG)).to.throw(OutputPathError, `Cannot write ${folder}: it is a folder; give a file name, such as ${path.join(folder, 'gradcam.png')}, as --out.`);
      expect(() => writeFileAtomic(`${folder}/`, PNG)).to.throw(OutputPathError, /it is a folder/);
      expect(() => writeFileAtomic(folder, '{}')).to.throw(/it is a folder; give a file name inside it as --out/);
      expect(temps(dir), 'temp files beside it').to.deep.equal([]);
      expect(fs.readdirSync(folder), 'nothing written into it').to.deep.equal([]);
    });

    it('a parent that is a regular file (ENOTDIR), named', () => {
      const file = path.join(dir, 'notes.txt');
      fs.writeFileSync(file, 'x');
      expect(() => writeFileAtomic(path.join(file, 'sub', 'out.png'), PNG)).to.throw(OutputPathError, `${file} is a file, not a folder, so nothing can be written inside it; choose another --out.`);
      expect(() => writeFileAtomic(path.join(file, 'out.png'), PNG)).to.throw(`${file} is a file, not a folder`);
      expect(temps(dir)).to.deep.equal([]);
    });

    it('a read-only folder: "permission denied; choose another --out"', function () {
      const locked = path.join(dir, 'locked');
      fs.mkdirSync(locked);
      fs.chmodSync(locked, 0o555);
      try {
        let writable = true;
        try {
          fs.accessSync(locked, fs.constants.W_OK);
        } catch {
          writable = false;
        }
        if (writable) {
          console.log(`      (skipped: this process (uid ${process.getuid?.()}) can write into a chmod 555 folder, as root can; the mapping of EACCES is checked below)`);
          this.skip();
        }
        const target = path.join(locked, 'out.png');
        expect(() => writeFileAtomic(target, PNG)).to.throw(OutputPathError, `Cannot write ${target}: permission denied in ${locked}; choose another --out in a folder you can write to.`);
        expect(temps(locked)).to.deep.equal([]);
      } finally {
        fs.chmodSync(locked, 0o755);
      }
    });

    it('each errno becomes a sentence with the fix (what root cannot provoke)', () => {
      const err = (code: string) => Object.assign(new Error(code), { code });
      const file = path.join(dir, 'x', 'out.png');
      // x/ does not exist: the folder named is the one the write failed in.
      expect(describeWriteError(err('EACCES'), file).message).to.equal(`Cannot write ${file}: permission denied in ${dir}; choose another --out in a folder you can write to.`);
      expect(describeWriteError(err('EPERM'), file).message).to.match(/permission denied/);
      expect(describeWriteError(err('EROFS'), file).message).to.match(/is on a read-only file system; choose another --out\.$/);
      expect(describeWriteError(err('ENOSPC'), file).message).to.match(/the disk is full .*free some space or choose another --out\.$/);
      expect((describeWriteError(err('EACCES'), file) as OutputPathError).code).to.equal('EACCES');
    });

    it('`gradcam explain --out FOLDER` fails with the sentence, not EISDIR', async () => {
      await initBackend({ quiet: true });
      const image = path.join(dir, 'image.png');
      writePng(image, { width: 32, height: 32, data: new Uint8ClampedArray(32 * 32 * 3).fill(128) });
      const folder = path.join(dir, 'explain-out');
      fs.mkdirSync(folder);
      const err = await rejection(main(['explain', image, '--out', folder]));
      expect(err.message).to.equal(`Cannot write ${folder}: it is a folder; give a file name, such as ${path.join(folder, 'gradcam.png')}, as --out.`);
      expect(fs.readdirSync(folder)).to.deep.equal([]);
      expect(temps(dir)).to.deep.equal([]);
    });
  });

  describe('the shipped model is read-only', () => {
    const before = snapshot(SHIPPED_MODELS_ROOT);
    const probe = path.join(SHIPPED_MODELS_ROOT, 'gradcam-test-must-not-exist');
    after(() => {
      fs.rmSync(probe, { recursive: true, force: true }); // only there if the guard failed
      expect(snapshot(SHIPPED_MODELS_ROOT), 'models/ unchanged').to.deep.equal(before);
    });

    it('assertNotShippedModelDir refuses models/, anything below it, and a symlink into it; allows the rest', () => {
      for (const target of [SHIPPED_MODEL_DIR, SHIPPED_CHECKPOINT_DIR, SHIPPED_MODELS_ROOT, path.join(SHIPPED_MODEL_DIR, 'model.json'), path.join(probe, 'a', 'b'), `${SHIPPED_MODEL_DIR}/../cifar10`]) {
        expect(() => assertNotShippedModelDir(target), target).to.throw(ShippedModelReadOnlyError, /the shipped model is read-only\. Pass --out with a folder of your own, such as \.\/gradcam-model\./);
      }
      const link = path.join(dir, 'models-link');
      fs.symlinkSync(SHIPPED_MODELS_ROOT, link);
      expect(() => assertNotShippedModelDir(path.join(link, 'cifar10'))).to.throw(ShippedModelReadOnlyError, `${path.join(link, 'cifar10')} is inside gradcam-ts's models folder`);
      expect(() => assertNotShippedModelDir(path.join(dir, 'my-model'))).to.not.throw();
      expect(() => assertNotShippedModelDir(`${SHIPPED_MODELS_ROOT}-mine`)).to.not.throw(); // a sibling whose name starts the same
    });

    it('saveModel, saveCheckpoint and writeFileAtomic refuse it before writing anything', async () => {
      const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2 })] });
      const err = await rejection(saveModel(model, probe));
      expect(err).to.be.instanceOf(ShippedModelReadOnlyError);
      expect(err.message).to.equal(
        `${probe} is inside gradcam-ts's models folder (${SHIPPED_MODELS_ROOT}), which holds the shipped model: the shipped model is read-only. Pass --out with a folder of your own, such as ./gradcam-model.`,
      );
      const state = { epoch: 1, totalEpochs: 1, batchSize: 1, peakLearningRate: 0.1, seed: 1, backend: 'cpu', history: [] };
      expect(() => saveCheckpoint(path.join(probe, 'checkpoint'), state, [])).to.throw(ShippedModelReadOnlyError);
      expect(() => writeFileAtomic(path.join(SHIPPED_MODEL_DIR, 'model.json'), '{}')).to.throw(ShippedModelReadOnlyError);
      expect(() => writePng(path.join(SHIPPED_MODEL_DIR, 'figure.png'), PNG)).to.throw(ShippedModelReadOnlyError);
      expect(fs.existsSync(probe), 'no folder made').to.equal(false);
      model.dispose();
    });
  });
});
