/**
 * Images -> the widget's ImageEntry values, for every class and each of the widget's methods.
 * One place for the first explanation, an edited image, an added image and a layer change, so
 * all of them are explained exactly as `explain` explains the same pixels. The CAM objects (the
 * model split at the layer) are kept per layer, so a brush stroke pays for the explanation only.
 */
import { BaseCAM, CamMethodName, createCam, Explanation, isCamMethod, splitAt } from '../cam';
import type { ExplainableModel, ModelSplit, Target, TargetSpec } from '../cam';
import { concatFloat32 } from '../util/typed-arrays';
import { gradientImage } from '../render';
import type { ImageEntry, ImageOrigin, MethodName } from '../shared/gradcam-schema';
import { initialSelection, WidgetListing, widgetListing } from './widget-targets';

/** What the widget knows about one image besides its pixels. */
export interface ImageFacts {
  title: string;
  trueClass: number;
  origin: ImageOrigin;
  /** Probabilities (target values) before any edit; default: this image's own. */
  originalProbs?: Float32Array;
  /** A list of targets only: this image's targets as its unedited version resolved them (same class, mask, box). */
  targets?: Target[];
}

export interface ExplainedImage {
  entry: ImageEntry;
  /** Every computed method's explanation of this one image (all classes). */
  explanations: Map<MethodName, Explanation>;
  /** A list of targets only: each target as this image resolved it, to score the same ones on its edits. */
  targets?: Target[];
}

/** Guided gradients of every class scaled for display into [0,1], as the Grad-CAM authors do. */
function guidedForDisplay(e: Explanation, i: number, key: 'guided' | 'guidedGradCam'): Float32Array {
  const [H, W, C] = e.inputShape;
  const classes = e.images[i].classes;
  const out = new Float32Array(classes.length * H * W * C);
  classes.forEach((cl, c) => {
    const img = gradientImage(cl[key] as Float32Array, W, H, C);
    for (let p = 0; p < H * W * C; p++) out[c * H * W * C + p] = img.data[p] / 255;
  });
  return out;
}

/** One explanation of a batch narrowed to its image i (arrays shared, not copied). */
function oneImage(e: Explanation, i: number): Explanation {
  return { ...e, images: [e.images[i]] };
}

export class WidgetExplainer {
  /** Widget methods in the order computed; Grad-CAM and Guided Grad-CAM always. */
  readonly methods: MethodName[];
  /** The model split once per layer ('' is the default layer); every method at that layer shares it. */
  private readonly splits = new Map<string, ModelSplit>();
  private readonly cams = new Map<string, BaseCAM>();
  private listed: WidgetListing | undefined;

  constructor(
    private readonly model: ExplainableModel,
    methods: readonly MethodName[],
    private readonly classNames?: readonly string[],
    /** Explain every class up to this many; beyond, each image's this-many most probable ones. */
    private readonly maxClasses = Infinity,
    /** Targets to list instead of the output's own (classes, labels, values...). */
    private readonly chosen?: { targets?: readonly Target[]; names?: readonly string[] },
  ) {
    this.methods = [...new Set<MethodName>(['gradcam', 'guided-gradcam', ...methods])];
  }

  /** What the selector lists, decided once from the output at the default layer. */
  get listing(): WidgetListing {
    this.listed ??= widgetListing(this.split(undefined).output, {
      targets: this.chosen?.targets, targetNames: this.chosen?.names, classNames: this.classNames,
      maxClasses: Number.isFinite(this.maxClasses) ? this.maxClasses : Number.MAX_SAFE_INTEGER,
    });
    return this.listed;
  }

  /** The entry an image selects when it first shows. */
  initialSelection(entry: ImageEntry): number {
    return initialSelection(this.listing, entry.probs as Float32Array);
  }

  /** 'all' classes, or each image's top maxClasses when the model has more. */
  private get target(): TargetSpec {
    const numClasses = this.split(undefined).numClasses;
    return numClasses > this.maxClasses ? { top: this.maxClasses } : 'all';
  }

  /** The split at `layer` (undefined: the default layer), made once; the default and its name share it. */
  private split(layer: string | undefined): ModelSplit {
    let split = this.splits.get(layer ?? '');
    if (!split) {
      const fresh = splitAt(this.model, layer);
      split = this.splits.get(fresh.layerName) ?? fresh;
      this.splits.set(layer ?? '', split);
      this.splits.set(split.layerName, split);
    }
    return split;
  }

  /** The CAM of `method` on the split at `layer`, made once. */
  private cam(method: CamMethodName, layer: string | undefined): BaseCAM {
    const split = this.split(layer);
    const key = `${method}\u0000${split.layerName}`;
    let cam = this.cams.get(key);
    if (!cam) {
      cam = createCam(split, { method, classNames: this.classNames });
      this.cams.set(key, cam);
    }
    return cam;
  }

  /** The layer name `layer` resolves to (the default target when undefined); throws a named error for a bad one. */
  resolveLayer(layer: string | undefined): string {
    return this.split(layer).layerName;
  }

  /** The model's input height and width. */
  get inputSize(): { height: number; width: number } {
    const [height, width] = this.split(undefined).inputShape;
    return { height, width };
  }

  /** Methods whose maps come from the guided pass (the expensive part: the whole network, per class). */
  get guidedMethods(): MethodName[] {
    return this.methods.filter((m) => m === 'guided-gradcam' || m === 'guided-backprop');
  }

  /**
   * Explains `pixels` (uint8 HWC each) at `layer` with every method, for every class. With
   * `guided: false` the guided maps are left out (see `guidedMaps`): a brush stroke's answer draws
   * from the cheap maps first and gets the guided ones in a second message.
   */
  explain(
    pixels: Uint8Array[],
    facts: ImageFacts[],
    layer: string | undefined,
    { guided = true, classes }: { guided?: boolean; classes?: ArrayLike<number> } = {},
  ): { images: ExplainedImage[]; batch: Map<MethodName, Explanation> } {
    const listing = this.listing;
    const byMethod = listing.kind === 'classes'
      ? this.explainBatch(pixels, layer, classes ? { classes: Array.from(classes) } : this.target, guided)
      : this.explainTargets(pixels, facts, layer, listing.targets, guided);
    const gradcam = byMethod.get('gradcam') as Explanation;
    const [H, W] = gradcam.inputShape;
    const [h, w, K] = gradcam.layerShape;
    const partial = listing.kind === 'classes' && (classes !== undefined || this.target !== 'all');
    const images = pixels.map((px, i) => {
      const im = gradcam.images[i];
      const maps: ImageEntry['maps'] = guided ? guidedOf(gradcam, i, this.guidedMethods) : {};
      for (const m of this.methods) {
        const e = byMethod.get(m);
        if (e) maps[m] = concatFloat32(e.images[i].classes.map((c) => c.heatmap));
      }
      // A list of targets shows each target's value and score where a classifier shows its output.
      const probs = listing.kind === 'classes' ? im.probabilities : Float32Array.from(im.classes, (c) => c.probability);
      const logits = listing.kind === 'classes' ? im.logits : Float32Array.from(im.classes, (c) => c.score);
      const f = facts[i];
      const entry: ImageEntry = {
        title: f.title,
        true_class: f.trueClass,
        height: H, width: W, pixels: px, probs, logits,
        map_height: h, map_width: w, channels: K, maps,
        alphas: concatFloat32(im.classes.map((c) => c.weights)),
        activations: im.activations,
        ...(partial ? { map_classes: Int32Array.from(im.classes, (c) => c.classIndex) } : {}),
        origin: f.origin,
        original_probs: f.originalProbs ?? probs,
      };
      const explanations = new Map<MethodName, Explanation>();
      for (const [m, e] of byMethod) explanations.set(m, oneImage(e, i));
      return { entry, explanations, ...(listing.kind === 'targets' ? { targets: im.classes.map((c) => c.resolved) } : {}) };
    });
    return { images, batch: byMethod };
  }

  /** Every engine method on one batch: one trunk pass and one head gradient serve them all (explainTogether). */
  private explainBatch(pixels: Uint8Array[], layer: string | undefined, target: TargetSpec, guided: boolean): Map<MethodName, Explanation> {
    const engineMethods = this.methods.filter(isCamMethod);
    const cams = engineMethods.map((m) => this.cam(m, layer));
    const explained = BaseCAM.explainTogether(cams, pixels, { target, guided });
    return new Map<MethodName, Explanation>(engineMethods.map((m, i) => [m, explained[i]]));
  }

  /** A list of targets: in one batch when every image takes the listed ones, else image by image (each its own resolved targets). */
  private explainTargets(pixels: Uint8Array[], facts: ImageFacts[], layer: string | undefined, listed: Target[], guided: boolean): Map<MethodName, Explanation> {
    if (facts.every((f) => f.targets === undefined)) return this.explainBatch(pixels, layer, { classes: listed }, guided);
    const parts = pixels.map((px, i) => this.explainBatch([px], layer, { classes: facts[i].targets ?? listed }, guided));
    return new Map([...parts[0].keys()].map((m) => {
      const first = parts[0].get(m) as Explanation;
      return [m, { ...first, images: parts.flatMap((p) => (p.get(m) as Explanation).images) }];
    }));
  }

  /** The guided maps of one image (every class, `classes`, or its own resolved `targets`) and the Grad-CAM explanation that carries them. */
  guidedMaps(pixels: Uint8Array, layer: string | undefined, { classes, targets }: { classes?: ArrayLike<number>; targets?: Target[] } = {}): { maps: ImageEntry['maps']; gradcam: Explanation } {
    const listing = this.listing;
    const target: TargetSpec = listing.kind === 'targets' ? { classes: targets ?? listing.targets } : classes ? { classes: Array.from(classes) } : this.target;
    const gradcam = this.cam('gradcam', layer).explain([pixels], { target, guided: true });
    return { maps: guidedOf(gradcam, 0, this.guidedMethods), gradcam };
  }
}

function guidedOf(gradcam: Explanation, i: number, methods: MethodName[]): ImageEntry['maps'] {
  const maps: ImageEntry['maps'] = {};
  for (const m of methods) maps[m] = guidedForDisplay(gradcam, i, m === 'guided-gradcam' ? 'guidedGradCam' : 'guided');
  return maps;
}
