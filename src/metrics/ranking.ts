/** Pixel orders from saliency maps: most relevant first, ties broken by position so runs repeat exactly. */

/** rank[p] = place of pixel p when the map is sorted high to low (0 = most relevant). */
export function relevanceRanks(map: ArrayLike<number>): Int32Array {
  const order = Array.from({ length: map.length }, (_, p) => p);
  order.sort((a, b) => map[b] - map[a] || a - b);
  const rank = new Int32Array(map.length);
  order.forEach((p, i) => (rank[p] = i));
  return rank;
}

/** Average ranks (ties share the mean of their places), for Spearman's correlation. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, p) => p).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2;
    i = j + 1;
  }
  return ranks;
}
