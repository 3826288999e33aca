import { expect } from 'chai';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../src/cli/main';
import { trainOutput } from '../../src/cli/train-output';
import { SHIPPED_CHECKPOINT_DIR, SHIPPED_MODEL_DIR, SHIPPED_MODELS_ROOT } from '../../src/model/shipped';
import { runCli } from '../support/cli-child';
import { rejection, SHARED_CIFAR10 } from '../support/setup';

/** SHA-1 of every file under `dir`, by relative path: the shipped models must not change. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = crypto.createHash('sha1').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

describe('gradcam train: options and output folder', function () {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-train-')));
  const shipped = fingerprint(SHIPPED_MODELS_ROOT);
  let savedData: string | undefined;
  before(() => {
    savedData = process.env.GRADCAM_CIFAR10_DIR;
    process.env.GRADCAM_CIFAR10_DIR = '/nonexistent'; // every refusal must come before the data is looked for
  });
  after(() => {
    if (savedData === undefined) delete process.env.GRADCAM_CIFAR10_DIR;
    else process.env.GRADCAM_CIFAR10_DIR = savedData;
    fs.rmSync(tmp, { recursive: true, force: true });
    expect(fingerprint(SHIPPED_MODELS_ROOT), 'the shipped models folder').to.deep.equal(shipped);
  });

  it('writes to ./gradcam-model in the working directory by default, the checkpoint inside it', () => {
    expect(trainOutput(undefined, undefined, tmp)).to.deep.equal({ out: path.join(tmp, 'gradcam-model'), checkpointDir: path.join(tmp, 'gradcam-model', 'checkpoint') });
    expect(trainOutput('runs/a', 'ckpt', tmp)).to.deep.equal({ out: path.join(tmp, 'runs/a'), checkpointDir: path.join(tmp, 'ckpt') });
  });

  it('refuses --out or --checkpoint in the package\'s models folder, also through a symlink or ..', async () => {
    const link = path.join(tmp, 'link-to-models');
    fs.symlinkSync(SHIPPED_MODELS_ROOT, link, 'dir');
    const cases: [string[], RegExp][] = [
      [['--out', SHIPPED_MODEL_DIR], /--out .*models.* read-only/],
      [['--out', path.join(link, 'cifar10')], /--out .*link-to-models.* read-only/],
      [['--out', path.join(SHIPPED_MODEL_DIR, '..', 'new')], /--out .* read-only/],
      [['--out', path.join(tmp, 'mine'), '--checkpoint', SHIPPED_CHECKPOINT_DIR], /--checkpoint .*checkpoints.* read-only/],
    ];
    for (const [flags, message] of cases) {
      expect((await rejection(main(['train', '--epochs', '1', ...flags]))).message, flags.join(' ')).to.match(message);
    }
  });

  it('refuses --epochs and --batch-size below 1 or not whole, with a sentence', async () => {
    for (const [flag, value] of [['epochs', '0'], ['epochs', '-1'], ['epochs', '1.5'], ['batch-size', '0'], ['batch-size', '-8'], ['limit', '0'], ['threads', '0']]) {
      const err = await rejection(main(['train', `--${flag}=${value}`, '--out', path.join(tmp, 'x')]));
      expect(err.message, `--${flag} ${value}`).to.equal(`--${flag} must be a whole number of at least 1; got '${value}'.`);
    }
    expect((await rejection(main(['train', '--lr', '0', '--out', path.join(tmp, 'x')]))).message).to.match(/--lr must be above 0/);
    expect(fs.existsSync(path.join(tmp, 'x')), 'no folder made').to.equal(false);
  });

  it('--resume without a checkpoint says so and stops instead of starting from scratch', async () => {
    const out = path.join(tmp, 'fresh');
    const err = await rejection(main(['train', '--resume', '--out', out]));
    expect(err.message).to.include(`no checkpoint in ${path.join(out, 'checkpoint')}`).and.include('nothing to resume');
    expect(fs.existsSync(out)).to.equal(false);
  });

  it('refuses an --out that is a file', async () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    expect((await rejection(main(['train', '--out', file]))).message).to.match(/--out .*a-file is a file, not a folder/);
  });

  describe('a short real run (needs CIFAR-10)', function () {
    this.timeout(90_000);
    before(function () {
      if (!fs.existsSync(path.join(SHARED_CIFAR10, 'test_batch.bin'))) {
        console.log(`      (skipped: real CIFAR-10 not found at ${SHARED_CIFAR10})`);
        this.skip();
      }
    });
    const quick = ['--limit', '64', '--batch-size', '32', '--threads', '1', '--data', SHARED_CIFAR10];

    it('without --out trains into ./gradcam-model, says where at the start and the end, and --resume continues it', async () => {
      const cwd = fs.mkdtempSync(path.join(tmp, 'cwd-'));
      const out = path.join(cwd, 'gradcam-model');
      const first = await runCli(['train', '--epochs', '1', ...quick], { cwd });
      expect(first.code, first.stderr).to.equal(0);
      const lines = first.stderr.trim().split('\n');
      expect(lines[0]).to.equal(`gradcam train: the model goes to ${out}, the checkpoint to ${path.join(out, 'checkpoint')}`);
      expect(lines[lines.length - 1]).to.match(new RegExp(`^model \\(epoch 1, test accuracy [\\d.]+%\\) in ${out}; checkpoint in ${out}/checkpoint$`));
      for (const f of ['model.json', 'training-history.json', 'README.md', 'checkpoint/checkpoint.json']) expect(fs.existsSync(path.join(out, f)), f).to.equal(true);

      const second = await runCli(['train', '--epochs', '2', '--resume', ...quick], { cwd });
      expect(second.code, second.stderr).to.equal(0);
      const history = JSON.parse(fs.readFileSync(path.join(out, 'training-history.json'), 'utf8')) as { history: unknown[] };
      expect(history.history).to.have.length(2);
    });

    it('refuses a --batch-size larger than the images per epoch (an epoch of no batches gave NaN)', async () => {
      const cwd = fs.mkdtempSync(path.join(tmp, 'cwd-'));
      const r = await runCli(['train', '--epochs', '1', '--limit', '16', '--batch-size', '32', '--threads', '1', '--data', SHARED_CIFAR10], { cwd });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('gradcam: --batch-size 32 is more than the 16 training images per epoch (--limit)');
      expect(fs.existsSync(path.join(cwd, 'gradcam-model'))).to.equal(false);
    });
  });
});
