/**
 * What the widget lists: a classifier's classes (today's widget), or a list of targets for
 * everything else: a multi-label model's labels, a regressor's values, a segmenter's classes, a
 * detector's best box, an embedding's similarity to itself, or the targets a person chose.
 * The class selector shows the list; each target's value stands where a probability would.
 */
import { defaultTarget, isTarget, targetName, targetValueKind } from '../cam';
import type { OutputInfo, Target, TargetValueKind } from '../cam';
import { argmax } from '../shared/arrays';

export type WidgetListing =
  | { kind: 'classes' }
  | { kind: 'targets'; targets: Target[]; names: string[]; values: TargetValueKind[] };

export interface ListingChoice {
  targets?: readonly Target[];
  targetNames?: readonly string[];
  classNames?: readonly string[];
  /** A longer default list (labels, values, segmentation classes) is cut to its first this-many. */
  maxClasses: number;
}

/** The default targets of a non-classifier output: one per label, value or class up to maxClasses; the best box; itself. */
function defaultTargets(output: OutputInfo, maxClasses: number): Target[] {
  if (output.kind === 'detections' || output.kind === 'embedding') return [defaultTarget(output, 'predicted')];
  const count = Math.min(output.shape[output.shape.length - 1], maxClasses);
  return Array.from({ length: count }, (_, c) => defaultTarget(output, c));
}

export function widgetListing(output: OutputInfo, choice: ListingChoice): WidgetListing {
  const chosen = choice.targets;
  if (chosen === undefined && output.kind === 'classes') return { kind: 'classes' };
  if (chosen !== undefined) {
    if (!Array.isArray(chosen) || chosen.length === 0) throw new TypeError('showGradCam: `targets` must be a non-empty list of targets, e.g. [targets.segmentation("road"), targets.regression(0)].');
    const bad = chosen.findIndex((t) => !isTarget(t));
    if (bad >= 0) throw new TypeError(`showGradCam: targets[${bad}] is ${JSON.stringify(chosen[bad])}, not a target; build each with targets.* (targets.classLogit('cat'), targets.detection(), ...).`);
  }
  const list = chosen ? [...chosen] : defaultTargets(output, choice.maxClasses);
  const names = choice.targetNames ? [...choice.targetNames] : list.map((t) => targetName(t, choice.classNames));
  if (names.length !== list.length) throw new Error(`showGradCam: got ${names.length} targetNames for ${list.length} targets; give one name per target.`);
  return { kind: 'targets', targets: list, names, values: list.map(targetValueKind) };
}

/** The entry selected when an image first shows: the predicted class, the most probable target, or the first target. */
export function initialSelection(listing: WidgetListing, probs: Float32Array): number {
  if (listing.kind === 'classes' || listing.values.every((v) => v === 'probability')) return argmax(probs);
  return 0;
}
