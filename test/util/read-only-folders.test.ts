import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../../src/util/atomic-write';
import { protectFolder } from '../../src/util/read-only-folders';

describe('util: writes refuse protected folders', () => {
  it('a registered folder refuses writes below it (through a symlink too) and leaves no temp file; others are written', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-ro-'));
    const guarded = path.join(root, 'guarded');
    fs.mkdirSync(guarded);
    fs.symlinkSync(guarded, path.join(root, 'alias'));
    protectFolder(guarded, (t) => new Error(`refused ${t}`));
    expect(() => writeFileAtomic(path.join(guarded, 'a', 'x.txt'), 'x')).to.throw(/refused .*guarded/);
    expect(() => writeFileAtomic(path.join(root, 'alias', 'x.txt'), 'x')).to.throw(/refused .*alias/);
    expect(fs.readdirSync(guarded)).to.deep.equal([]);
    writeFileAtomic(path.join(root, 'free', 'x.txt'), 'ok');
    expect(fs.readFileSync(path.join(root, 'free', 'x.txt'), 'utf8')).to.equal('ok');
    fs.rmSync(root, { recursive: true, force: true });
  });
});
