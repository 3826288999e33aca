import { expect } from 'chai';
import { chartData, MAX_BARS, restText } from '../../widget/src/alpha-chart';
import type { AlphaBar } from '../../widget/src/derive';

/** Bars as derive.alphaBars makes them: sorted by value, strength = rank by |value|. */
function bars(values: number[]): AlphaBar[] {
  const list = values.map((value, channel) => ({ channel, value, strength: 0 }));
  [...list].sort((a, b) => Math.abs(b.value) - Math.abs(a.value) || a.channel - b.channel).forEach((b, i) => (b.strength = i));
  return list.sort((a, b) => b.value - a.value || a.channel - b.channel);
}

describe('widget: alpha chart with many channels', () => {
  it('draws every channel when they fit', () => {
    const all = bars([0.3, -0.1, 0.2]);
    expect(chartData(all)).to.deep.equal({ shown: all });
    expect(restText(3, 3, undefined)).to.equal('');
  });

  it('for K = 2048 keeps the strongest 96 by |alpha| in value order and sums up the other 1952', () => {
    const values = Array.from({ length: 2048 }, (_, k) => Math.sin(k * 12.9898) * (k % 7 === 0 ? 10 : 1));
    const all = bars(values);
    const { shown, rest } = chartData(all);
    expect(shown).to.have.length(MAX_BARS);
    const cut = [...values].map(Math.abs).sort((a, b) => b - a)[MAX_BARS - 1];
    expect(shown.every((b) => Math.abs(b.value) >= cut)).to.equal(true);
    for (let i = 1; i < shown.length; i++) expect(shown[i].value).to.be.at.most(shown[i - 1].value);
    const left = all.filter((b) => !shown.includes(b));
    expect(rest?.count).to.equal(2048 - MAX_BARS);
    expect(rest?.sum).to.be.closeTo(left.reduce((s, b) => s + b.value, 0), 1e-9);
    expect(rest?.maxAbs).to.equal(Math.max(...left.map((b) => Math.abs(b.value))));
    expect(restText(2048, shown.length, rest)).to.match(/^strongest 96 of 2048 by \|α\|; other 1952: Σα -?[\d.e+-]+, \|α\| ≤ [\d.e+-]+$/);
  });
});
