/** Copies of model folders to corrupt in tests (fixtures and models/ are never changed in place). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface WeightSpecJson {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: object;
}

/** The parts of a model.json the tests edit. */
export interface ModelJsonFile {
  modelTopology: { config: { layers: { class_name: string }[] }; node?: { name: string; op: string }[] };
  weightsManifest: { paths: unknown[] | null; weights: WeightSpecJson[] }[];
}

export class ModelCopies {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-model-files-'));
  private count = 0;

  /** A fresh copy of the model folder `src`. */
  copy(src: string): string {
    const dir = path.join(this.root, `case-${++this.count}`);
    fs.cpSync(src, dir, { recursive: true });
    return dir;
  }

  /** A path in the temp root, outside every copy. */
  outside(name: string): string {
    return path.join(this.root, `${name}-${++this.count}`);
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

export function editModelJson(dir: string, edit: (json: ModelJsonFile) => void): void {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelJsonFile;
  edit(json);
  fs.writeFileSync(file, JSON.stringify(json));
}

/** The first weight file a model.json names. */
export function weightFile(dir: string): string {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as ModelJsonFile;
  return path.join(dir, String(json.weightsManifest[0].paths?.[0]));
}

export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
