import { expect } from 'chai';
import { main } from '../../src/cli/main';
import { HELP } from '../../src/cli/help';
import { CAM_METHOD_NAMES } from '../../src/shared/methods';

async function printed(argv: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  console.error = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    return { code: await main(argv), text: lines.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe('gradcam CLI: help', () => {
  it('every command answers --help and -h with its own usage, exit 0, and does not run', async () => {
    for (const name of Object.keys(HELP)) {
      for (const flag of ['--help', '-h']) {
        const r = await printed([name, flag]);
        expect(r.code, `${name} ${flag}`).to.equal(0);
        expect(r.text, `${name} ${flag}`).to.match(new RegExp(`^usage: gradcam ${name.replace('-', '\\-')}`));
      }
    }
  });

  it("explain's usage and --help list every method of the registry, and each is accepted", async () => {
    const r = await printed(['explain', '--help']);
    for (const m of CAM_METHOD_NAMES) expect(r.text).to.contain(m);
    const overview = await printed(['--help']);
    for (const m of CAM_METHOD_NAMES) expect(overview.text).to.contain(m);
    // An unknown method lists them all; a known one gets past the method check (to the missing image).
    const err = await main(['explain', '--method', 'nosuch', '--out', '/tmp/x.png']).catch((e: Error) => e);
    expect(String(err)).to.match(new RegExp(`use one of ${CAM_METHOD_NAMES.join(', ').replace(/\+/g, '\\+')}, guided`));
  });
});
