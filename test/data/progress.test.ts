import { expect } from 'chai';
import { formatBytes, ProgressBar, ProgressStream } from '../../src/data/progress';

class Capture implements ProgressStream {
  text = '';
  constructor(readonly isTTY: boolean) {}
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

describe('progress bar', () => {
  it('in logs (not a TTY) prints one line per 10% however many updates arrive, then a final line', () => {
    const out = new Capture(false);
    const bar = new ProgressBar({ total: 1000, label: 'train', unit: 'img', stream: out });
    for (let done = 0; done <= 1000; done++) bar.update(done, `loss ${(1 / (done + 1)).toFixed(3)}`);
    bar.finish('acc 0.90');
    const lines = out.text.trimEnd().split('\n');
    expect(lines).to.have.length(12); // 0%, 10% .. 100%, and the finish line carrying its extra text
    expect(lines[0]).to.match(/^train \[\.{24}\]   0% 0 img\/1000 img/);
    expect(lines[5]).to.include(' 50% 500 img/1000 img').and.include('loss 0.002');
    expect(lines[10]).to.include('100%');
    expect(lines[11]).to.include('acc 0.90').and.match(/ in \d+m\d\ds/);
    expect(out.text).not.to.include('\r');
  });

  it('on a TTY redraws one line with \\r, throttled, and ends it with a newline', () => {
    const out = new Capture(true);
    const bar = new ProgressBar({ total: 3 * 1024 * 1024, label: 'CIFAR-10', unit: 'B', stream: out, redrawMs: 60_000 });
    for (let i = 1; i <= 100; i++) bar.update(i * 1024);
    bar.update(3 * 1024 * 1024); // the last unit always draws
    bar.finish();
    const draws = out.text.split('\r').filter(Boolean);
    expect(draws).to.have.length(3); // first update, the completed one, finish
    expect(draws[0]).to.include('1.0 KiB/3.0 MiB');
    expect(draws[1]).to.include('100%').and.include('3.0 MiB/3.0 MiB');
    expect(out.text.endsWith('\n')).to.equal(true);
    expect(out.text.split('\n')).to.have.length(2);
  });

  it('leaves work done before a resume out of the rate', async () => {
    const out = new Capture(false);
    const bar = new ProgressBar({ total: 1000, initial: 900, unit: 'img', stream: out });
    await new Promise((resolve) => setTimeout(resolve, 250));
    bar.update(1000);
    // 100 new images in about 0.25 s: about 400 img/s; counting the 900 resumed ones would claim about 4,000.
    const rate = Number(/ ([\d.]+) img\/s/.exec(out.text)?.[1]);
    expect(rate).to.be.within(50, 420);
  });

  it('formats byte counts in binary units', () => {
    expect(formatBytes(512)).to.equal('512 B');
    expect(formatBytes(1536)).to.equal('1.5 KiB');
    expect(formatBytes(170_052_171)).to.equal('162.2 MiB');
  });
});
