/**
 * The alpha_k^c bar chart of one image's selected class (d3): channels sorted by weight,
 * positive and negative in two colours, the strongest few labelled. Bars are joined by channel
 * index, so a class switch moves each channel's bar to its new rank in a short transition.
 * Hovering a bar reports its channel (the view then shows A^k over the image). A layer with
 * more channels than fit (MobileNetV2's 1280, ResNet50's 2048) shows its strongest MAX_BARS by
 * |alpha| in the same order, and one line sums up the others.
 */
import { select, type Selection } from 'd3-selection';
import { scaleBand, scaleLinear } from 'd3-scale';
import { axisLeft } from 'd3-axis';
import 'd3-transition';
import type { AlphaBar } from './derive';

export interface AlphaChartOptions {
  height?: number;
  /** How many of the strongest channels (by |alpha|) get their index written on them. */
  labelCount?: number;
  onHover: (bar: AlphaBar | null) => void;
}

const MARGIN = { top: 16, right: 6, bottom: 14, left: 30 };
/** Least horizontal room between two channel labels, px. */
const LABEL_GAP = 24;
const DURATION = 160;
/** Most bars drawn: at ~300 px, about 3 px each. */
export const MAX_BARS = 96;

/** The channels left out of the chart, summed up. */
export interface RestSummary {
  count: number;
  /** Their sum of alpha_k^c and their largest |alpha_k^c|. */
  sum: number;
  maxAbs: number;
}

/** The bars to draw (the strongest maxBars by |alpha|, order kept) and a summary of the rest. */
export function chartData(bars: AlphaBar[], maxBars = MAX_BARS): { shown: AlphaBar[]; rest?: RestSummary } {
  if (bars.length <= maxBars) return { shown: bars };
  const shown = bars.filter((b) => b.strength < maxBars);
  const rest: RestSummary = { count: bars.length - shown.length, sum: 0, maxAbs: 0 };
  for (const b of bars) {
    if (b.strength < maxBars) continue;
    rest.sum += b.value;
    rest.maxAbs = Math.max(rest.maxAbs, Math.abs(b.value));
  }
  return { shown, rest };
}

/** "strongest 96 of 1280 by |α|; other 1184: Σα 1.2e-3, |α| ≤ 4.0e-4" */
export function restText(total: number, shown: number, rest: RestSummary | undefined): string {
  if (!rest) return '';
  return `strongest ${shown} of ${total} by |α|; other ${rest.count}: Σα ${format(rest.sum)}, |α| ≤ ${format(rest.maxAbs)}`;
}

export class AlphaChart {
  readonly node: SVGSVGElement;
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly x = scaleBand<number>().paddingInner(0.15);
  private readonly y = scaleLinear();
  private readonly height: number;
  private readonly labelCount: number;
  private width = 300;
  private bars: AlphaBar[] = [];
  private rest = '';
  private hovered: number | null = null;

  constructor(private readonly options: AlphaChartOptions) {
    this.height = options.height ?? 120;
    this.labelCount = options.labelCount ?? 4;
    this.svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
      .attr('class', 'gc-alpha-chart')
      .attr('height', this.height);
    this.node = this.svg.node() as SVGSVGElement;
    this.svg.append('g').attr('class', 'gc-axis').attr('transform', `translate(${MARGIN.left - 3},0)`);
    this.svg.append('text').attr('class', 'gc-axis-unit').attr('x', 0).attr('y', this.height - 2);
    this.svg.append('text').attr('class', 'gc-rest').attr('text-anchor', 'end').attr('y', this.height - 2);
    this.svg.append('line').attr('class', 'gc-zero');
    this.svg.append('g').attr('class', 'gc-bars');
    this.svg.append('g').attr('class', 'gc-labels');
    this.svg.append('g').attr('class', 'gc-hits');
    this.svg.on('mouseleave', () => this.hover(null));
  }

  /** New data (another class, or the first draw). */
  update(bars: AlphaBar[]): void {
    const { shown, rest } = chartData(bars);
    this.bars = shown;
    this.rest = restText(bars.length, shown.length, rest);
    this.draw(true);
  }

  /** The container's width changed. */
  resize(width: number): void {
    if (width <= 0 || Math.abs(width - this.width) < 1) return;
    this.width = width;
    this.draw(false);
  }

  /** Mark the hovered channel (also set from outside, e.g. cleared on class switch). */
  highlight(channel: number | null): void {
    this.hovered = channel;
    this.svg.select('.gc-bars').selectAll<SVGRectElement, AlphaBar>('rect').classed('gc-hover', (d) => d.channel === channel);
  }

  /**
   * Where the strongest channels' labels go: above (positive) or below (negative) their bar,
   * pushed apart along x so neighbours never overlap, with a leader line back to the bar.
   */
  private labelSpots(barY: (d: AlphaBar) => number, barH: (d: AlphaBar) => number, bw: number): LabelSpot[] {
    const spots: LabelSpot[] = [];
    const strong = this.bars.filter((b) => b.strength < this.labelCount);
    for (const positive of [true, false]) {
      const group = strong.filter((b) => b.value >= 0 === positive).map((bar) => ({ bar, barX: (this.x(bar.channel) ?? 0) + bw / 2 }));
      // Positives sit at the left end, negatives at the right: spread away from the end.
      group.sort((a, b) => (positive ? a.barX - b.barX : b.barX - a.barX));
      let last = positive ? -Infinity : Infinity;
      for (const g of group) {
        const x = positive ? Math.max(g.barX, last + LABEL_GAP, MARGIN.left + 6) : Math.min(g.barX, last - LABEL_GAP, this.width - MARGIN.right - 6);
        last = x;
        const barEnd = positive ? barY(g.bar) : barY(g.bar) + barH(g.bar);
        const y = positive ? Math.max(MARGIN.top - 4, barEnd - 6 - (x - g.barX > 1 ? 6 : 0)) : Math.min(this.height - 2, barEnd + 11);
        spots.push({ ...g, x, y, barEnd });
      }
    }
    return spots;
  }

  private hover(bar: AlphaBar | null): void {
    this.highlight(bar ? bar.channel : null);
    this.options.onHover(bar);
  }

  private draw(animate: boolean): void {
    const { x, y, bars } = this;
    const innerBottom = this.height - MARGIN.bottom;
    let lo = 0;
    let hi = 0;
    for (const b of bars) {
      lo = Math.min(lo, b.value);
      hi = Math.max(hi, b.value);
    }
    if (lo === hi) hi = 1;
    this.svg.attr('width', this.width).attr('viewBox', `0 0 ${this.width} ${this.height}`);
    x.domain(bars.map((b) => b.channel)).range([MARGIN.left, this.width - MARGIN.right]);
    y.domain([lo, hi]).range([innerBottom, MARGIN.top]);
    const zero = y(0);
    const bw = Math.max(1, x.bandwidth());
    const duration = animate ? DURATION : 0;

    this.svg.select('.gc-rest').attr('x', this.width - MARGIN.right).text(this.rest);
    this.svg.select('.gc-zero').attr('x1', MARGIN.left).attr('x2', this.width - MARGIN.right).attr('y1', zero).attr('y2', zero);
    // Ticks as multiples of a power of ten written once above the axis (alphas are ~1e-3).
    const power = Math.floor(Math.log10(Math.max(Math.abs(lo), Math.abs(hi)) || 1));
    const unit = 10 ** power;
    this.svg.select('.gc-axis-unit').text(power === 0 ? '' : `×1e${power}`);
    this.svg
      .select<SVGGElement>('.gc-axis')
      .call(axisLeft(y).ticks(3).tickSize(3).tickFormat((v) => String(+(+v / unit).toFixed(1))))
      .call((g) => g.select('.domain').remove());

    const barY = (d: AlphaBar): number => Math.min(zero, y(d.value));
    const barH = (d: AlphaBar): number => Math.max(0.5, Math.abs(y(d.value) - zero));
    this.svg
      .select('.gc-bars')
      .selectAll<SVGRectElement, AlphaBar>('rect')
      .data(bars, (d) => d.channel)
      .join((enter) => enter.append('rect').attr('y', zero).attr('height', 0))
      .attr('class', (d) => (d.value >= 0 ? 'gc-pos' : 'gc-neg'))
      .classed('gc-hover', (d) => d.channel === this.hovered)
      .attr('data-channel', (d) => d.channel)
      .attr('width', bw)
      .transition()
      .duration(duration)
      .attr('x', (d) => x(d.channel) ?? 0)
      .attr('y', barY)
      .attr('height', barH);

    this.svg
      .select('.gc-labels')
      .selectAll<SVGGElement, LabelSpot>('g')
      .data(this.labelSpots(barY, barH, bw), (d) => d.bar.channel)
      .join((enter) => {
        const g = enter.append('g').attr('opacity', 0);
        g.append('line');
        g.append('text').attr('text-anchor', 'middle');
        return g;
      })
      .call((g) => g.select('text').text((d) => String(d.bar.channel)))
      .transition()
      .duration(duration)
      .attr('opacity', 1)
      .call((t) =>
        t
          .select('text')
          .attr('x', (d) => d.x)
          .attr('y', (d) => d.y),
      )
      .call((t) =>
        t
          .select('line')
          .attr('x1', (d) => d.x)
          .attr('x2', (d) => d.barX)
          .attr('y1', (d) => (d.bar.value >= 0 ? d.y + 2 : d.y - 8))
          .attr('y2', (d) => d.barEnd),
      );

    // Hit areas span the full height, so thin bars are easy to hover; no transition (exact).
    this.svg
      .select('.gc-hits')
      .selectAll<SVGRectElement, AlphaBar>('rect')
      .data(bars, (d) => d.channel)
      .join('rect')
      .attr('data-channel', (d) => d.channel)
      .attr('x', (d) => (x(d.channel) ?? 0) - (x.step() - bw) / 2)
      .attr('width', x.step())
      .attr('y', 0)
      .attr('height', this.height)
      .on('mouseenter', (_event: MouseEvent, d: AlphaBar) => this.hover(d));
  }
}

interface LabelSpot {
  bar: AlphaBar;
  /** Label position and the bar's centre / tip it points to. */
  x: number;
  y: number;
  barX: number;
  barEnd: number;
}

export function format(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1000) ? v.toExponential(1) : v.toFixed(a < 1 ? 3 : 2);
}
