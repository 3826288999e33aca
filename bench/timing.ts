/** How the bench scripts time things: the median and the fastest of repeated calls after warm-up. */

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** [median, min] ms of `fn` over `repeats` calls, after two warm-up calls. */
export function time(fn: () => void, repeats: number): [number, number] {
  fn();
  fn();
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return [median(ms), Math.min(...ms)];
}
