/**
 * The widget's images, owned in one place: for each panel the image it started from (as given or
 * added) and the one it shows now, each with its explanation. Every change goes through a method
 * here that explains the new pixels and returns the new entry; the widget only sends it.
 */
import type { Explanation, Target } from '../cam';
import type { ImageEntry, ImageOrigin, MethodName } from '../shared/gradcam-schema';
import { readImageForModel } from '../render';
import { concatFloat32 } from '../util/typed-arrays';
import type { ExplainedImage, ImageFacts, WidgetExplainer } from './widget-explainer';

/** One panel's images: the one it started from and the one it shows now. */
export interface ImageRecord {
  /** `targets`: for a list of targets, each as the unedited image resolved it (an edit is scored on the same ones). */
  original: { pixels: Uint8Array; origin: ImageOrigin; probs: Float32Array; explained?: ExplainedImage; layer?: string; targets?: Target[] };
  current: ExplainedImage;
  pixels: Uint8Array;
  title: string;
  trueClass: number;
}

/** What changed: the panel, its new explanation, and whether it is an edit or back to as given. */
export interface ImageChange {
  image: number;
  explained: ExplainedImage;
  kind: 'edit' | 'reset' | 'add';
}

export class ImageStore {
  constructor(
    private readonly records: ImageRecord[],
    readonly explainer: WidgetExplainer,
  ) {}

  /** Records for the images given to showGradCam, explained at `layer`. */
  static given(pixels: Uint8Array[], explained: ExplainedImage[], facts: ImageFacts[], layer: string, explainer: WidgetExplainer): ImageStore {
    return new ImageStore(
      explained.map((e, i) => ({
        original: { pixels: pixels[i], origin: 'given', probs: e.entry.probs as Float32Array, explained: e, layer, targets: e.targets },
        current: e, pixels: pixels[i], title: facts[i].title, trueClass: facts[i].trueClass,
      })),
      explainer,
    );
  }

  get count(): number {
    return this.records.length;
  }

  /** Image `image`'s record, or an error that names the valid indices. */
  at(image: number): ImageRecord {
    const record = Number.isInteger(image) ? this.records[image] : undefined;
    if (!record) throw new Error(`image ${image} does not exist; this widget has images 0..${this.records.length - 1}.`);
    return record;
  }

  entries(): ImageEntry[] {
    return this.records.map((r) => r.current.entry);
  }

  explanation(image: number, method: MethodName): Explanation | undefined {
    return this.at(image).current.explanations.get(method);
  }

  /** New pixels for `image`; pixels equal to the original are not an edit but a reset. */
  replace(image: number, pixels: Uint8Array, layer: string): ImageChange {
    const record = this.at(image);
    if (Buffer.from(pixels).equals(Buffer.from(record.original.pixels))) return this.restore(image, layer);
    const facts: ImageFacts = { title: record.title, trueClass: record.trueClass, origin: 'edited', originalProbs: record.original.probs, targets: record.original.targets };
    const [explained] = this.explainer.explain([pixels], [facts], layer, { guided: false }).images;
    this.records[image] = { ...record, current: explained, pixels };
    return { image, explained, kind: 'edit' };
  }

  /** Back to the image as given (or added), explained at `layer` (cached per layer). */
  restore(image: number, layer: string): ImageChange {
    const record = this.at(image);
    const { original } = record;
    if (!original.explained || original.layer !== layer) {
      const facts: ImageFacts = { title: record.title, trueClass: record.trueClass, origin: original.origin, targets: original.targets };
      original.explained = this.explainer.explain([original.pixels], [facts], layer, { guided: false }).images[0];
      original.layer = layer;
    }
    this.records[image] = { ...record, current: original.explained, pixels: original.pixels };
    return { image, explained: original.explained, kind: 'reset' };
  }

  /** An image file (path or bytes) resized to the model's input, appended as a new panel. */
  async add(file: string | Buffer, name: string, layer: string): Promise<ImageChange> {
    const { height, width } = this.explainer.inputSize;
    const img = await readImageForModel(file, height, width, name);
    const title = img.resizedFrom ? `${name} (${img.resizedFrom.width}x${img.resizedFrom.height})` : name;
    const [explained] = this.explainer.explain([img.pixels], [{ title, trueClass: -1, origin: 'added' }], layer, { guided: false }).images;
    const image = this.records.length;
    this.records.push({
      original: { pixels: img.pixels, origin: 'added', probs: explained.entry.probs as Float32Array, explained, layer, targets: explained.targets },
      current: explained, pixels: img.pixels, title, trueClass: -1,
    });
    return { image, explained, kind: 'add' };
  }

  /** Every image re-explained at `layer` (edits kept); returns the new entries. */
  relayer(layer: string): ImageEntry[] {
    const facts = this.records.map((r) => ({ title: r.title, trueClass: r.trueClass, origin: r.current.entry.origin ?? 'given', originalProbs: r.original.probs, targets: r.original.targets }));
    const { images } = this.explainer.explain(this.records.map((r) => r.pixels), facts, layer);
    images.forEach((explained, i) => {
      const record = this.records[i];
      const unedited = record.pixels === record.original.pixels;
      this.records[i] = { ...record, current: explained, original: unedited ? { ...record.original, explained, layer } : { ...record.original, explained: undefined } };
    });
    return images.map((e) => e.entry);
  }

  /** True when image `image` still lacks the guided maps (they follow an edit in a second message). */
  lacksGuided(image: number): boolean {
    const { entry } = this.at(image).current;
    return this.explainer.guidedMethods.some((m) => !entry.maps[m]);
  }

  /**
   * The guided maps of image `image` as it shows `pixels`, added to its entry; undefined when the
   * image was replaced since or already has them.
   */
  addGuided(image: number, pixels: Uint8Array, layer: string): { entry: ImageEntry; maps: ImageEntry['maps'] } | undefined {
    const record = this.at(image);
    if (record.pixels !== pixels || !this.lacksGuided(image)) return undefined;
    const { maps, gradcam } = this.explainer.guidedMaps(pixels, layer, { classes: record.current.entry.map_classes as Int32Array | undefined, targets: record.original.targets });
    const entry: ImageEntry = { ...record.current.entry, maps: { ...record.current.entry.maps, ...maps } };
    this.setCurrent(image, { entry, explanations: new Map(record.current.explanations).set('gradcam', gradcam) });
    return { entry, maps };
  }

  /**
   * Class c's maps added to an image explained for its top classes only: appended to map_classes,
   * maps and alphas (the guided maps too once they are there). Returns the image's entry.
   */
  addClass(image: number, c: number, layer: string): ImageEntry {
    const record = this.at(image);
    const { entry } = record.current;
    const have = entry.map_classes as Int32Array | undefined;
    if (!have || have.includes(c)) return entry;
    const withGuided = !this.lacksGuided(image);
    const facts: ImageFacts = { title: record.title, trueClass: record.trueClass, origin: entry.origin ?? 'given' };
    const [extra] = this.explainer.explain([record.pixels], [facts], layer, { guided: withGuided, classes: [c] }).images;
    const maps: ImageEntry['maps'] = {};
    for (const [m, rows] of Object.entries(entry.maps)) maps[m] = concatFloat32([rows as Float32Array, extra.entry.maps[m] as Float32Array]);
    const grown: ImageEntry = {
      ...entry,
      maps,
      map_classes: Int32Array.from([...have, c]),
      alphas: concatFloat32([entry.alphas as Float32Array, extra.entry.alphas as Float32Array]),
    };
    const explanations = new Map(record.current.explanations);
    for (const [m, e] of extra.explanations) {
      const mine = explanations.get(m);
      if (mine) explanations.set(m, { ...mine, images: [{ ...mine.images[0], classes: [...mine.images[0].classes, ...e.images[0].classes] }] });
    }
    this.setCurrent(image, { entry: grown, explanations });
    return grown;
  }

  /** A richer version of what the image shows now (the unedited image's cache follows it). */
  private setCurrent(image: number, current: ExplainedImage): void {
    const record = this.records[image];
    if (record.original.explained === record.current) record.original.explained = current;
    this.records[image] = { ...record, current };
  }
}
