/**
 * `gradcam explain`'s choice of what to explain: --output (which output of a multi-output model),
 * --target (how its values become one score) and --class (which class, label or value), turned
 * into the engine's TargetSpec; and the one line that says what was chosen and how to choose
 * otherwise.
 */
import { KIND_DESCRIPTIONS, ModelSplit, TargetSpec, targets } from '../cam';
import type { ClassRef } from '../cam';

export const TARGET_KINDS = ['logit', 'probability', 'label', 'against', 'raise', 'lower', 'segmentation', 'detection', 'embedding'] as const;
export type TargetKindFlag = (typeof TARGET_KINDS)[number];

/** --class as a class reference: an index, a name, 'pred' or 'all'. */
function classRef(value: string | undefined): ClassRef | 'predicted' | 'all' {
  if (value === undefined || value === 'pred' || value === 'predicted') return 'predicted';
  if (value === 'all') return 'all';
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** A box "x1,y1,x2,y2" in the detector's coordinates. */
function parseBox(value: string): [number, number, number, number] {
  const parts = value.split(',').map(Number);
  if (parts.length !== 4 || parts.some((v) => !Number.isFinite(v))) throw new Error(`--box '${value}' is not a box; give x1,y1,x2,y2 in the detector's coordinates, e.g. --box 10,20,110,140.`);
  return parts as [number, number, number, number];
}

export function parseTargetFlags(kind: string | undefined, cls: string | undefined, box: string | undefined): TargetSpec {
  const c = classRef(cls);
  if (kind === undefined) {
    if (box !== undefined) return targets.detection({ class: c === 'predicted' || c === 'all' ? undefined : c, box: parseBox(box) });
    return c;
  }
  if (!(TARGET_KINDS as readonly string[]).includes(kind)) throw new Error(`--target '${kind}' is unknown; use one of ${TARGET_KINDS.join(', ')}.`);
  const one = (k: TargetKindFlag): ClassRef | 'predicted' => {
    if (c === 'all') throw new Error(`--target ${k} explains one class or value; leave out --class all, or drop --target to explain every class.`);
    return c;
  };
  switch (kind as TargetKindFlag) {
    case 'logit': return c === 'all' ? 'all' : targets.classLogit(c);
    case 'probability': return targets.classProbability(one('probability'));
    case 'label': return c === 'all' ? 'all' : targets.sigmoidLabel(c);
    case 'against': return targets.sigmoidLabel(one('against'), { negative: true });
    case 'raise':
    case 'lower': {
      const v = one(kind as TargetKindFlag);
      const index = v === 'predicted' ? 0 : typeof v === 'number' ? v : NaN;
      if (!Number.isInteger(index)) throw new Error(`--target ${kind} takes --class N, the index of the output value (default 0); got '${cls}'.`);
      return targets.regression(index, { lower: kind === 'lower' });
    }
    case 'segmentation': return c === 'all' ? 'all' : targets.segmentation(c);
    case 'detection': {
      const k = one('detection');
      return targets.detection({ class: k === 'predicted' ? undefined : k, box: box === undefined ? undefined : parseBox(box) });
    }
    case 'embedding': return targets.embedding();
  }
}

/** Which --target flags fit an output kind (for the hint line). */
const FITTING: Readonly<Record<ModelSplit['output']['kind'], string>> = {
  classes: 'logit (default), probability',
  labels: 'label (default), against',
  regression: 'raise (default), lower',
  map: 'segmentation (default)',
  detections: 'detection (default; --box x1,y1,x2,y2 for x IoU)',
  embedding: 'embedding (default: similarity to its own)',
};

/** "explaining output 'x' (class scores, softmax left out) at layer 'y' ..." with how to choose otherwise. */
export function describeChoice(split: ModelSplit): string {
  const { output } = split;
  const removed = output.activation === 'linear' ? '' : `, its ${output.activation} left out`;
  const others = split.outputNames.filter((n) => n !== output.name);
  return (
    `explaining output '${output.name}' [N,${output.shape.join(',')}] as ${KIND_DESCRIPTIONS[output.kind]}${removed}, at layer '${split.layerName}'. ` +
    `Choose with --target ${FITTING[output.kind]}, --class${others.length ? `, --output ${others.map((n) => `'${n}'`).join('|')}` : ''}, --layer.`
  );
}
