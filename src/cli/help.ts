/**
 * Each command's usage line and, for `gradcam <command> --help`, what its options mean. The method
 * and target lists come from the registries, so the help never lists a method the CLI refuses.
 */
import { CAM_METHOD_NAMES, METHOD_LABELS } from '../shared/methods';
import { TARGET_KINDS } from './explain-target';

export interface CommandHelp {
  /** One line: the command and its options. */
  usage: string;
  /** What the command does and what each option means. */
  details: string[];
}

const methods = [...CAM_METHOD_NAMES, 'guided'].join('|');

export const HELP: Readonly<Record<string, CommandHelp>> = {
  demo: { usage: 'demo [--out DIR]', details: ['Figures from the shipped model and examples, then evaluation if CIFAR-10 is here.'] },
  info: { usage: 'info', details: ['Backend, versions, and where the data and the model are found.'] },
  evaluate: { usage: 'evaluate [--model DIR --data DIR --limit N --confusion-png FILE]', details: ['Accuracy and per-class recall of a CIFAR-10 classifier on the test set; --limit N evaluates the first N images.'] },
  explain: {
    usage: `explain <image.png|jpg | --cifar-test N> [--method ${methods}] [--class NAME|N|pred|all] [--target KIND] [--output NAME] [--layer NAME] [--model DIR] [--labels FILE] [--input-range 0-255|0-1|-1..1|caffe|torch] [--size HxW] [--box x1,y1,x2,y2] [--colormap jet|viridis|turbo] [--opacity X] --out FILE.png`,
    details: [
      'Explains one image into a PNG figure (input, map, overlay, guided backprop, Guided Grad-CAM).',
      `--method   ${CAM_METHOD_NAMES.map((m) => `${m} (${METHOD_LABELS[m]})`).join(', ')}; guided: Grad-CAM, insisting on the guided columns.`,
      "--class    the class, label or value index to explain (default: the model's prediction); all: every class.",
      `--target   how the output becomes one score: ${TARGET_KINDS.join(', ')} (default: the output kind's own).`,
      '--output   which output of a model with several (default: the first).',
      '--layer    the layer or graph node to explain (default: the last spatial map before the output).',
      '--size     HxW for a model that takes any size (default 224x224).',
      "--box      with detection: the score times the box's IoU with this box.",
    ],
  },
  figures: { usage: 'figures [--out DIR --model DIR]', details: ['The deer, ship and misclassified figures from the shipped examples.'] },
  'export-examples': { usage: 'export-examples --pick "deer=N;ship=N;misclassified=N,N" [--data DIR]', details: ['Writes chosen CIFAR-10 test images into examples/ with their index.'] },
  'install-kernel': { usage: 'install-kernel [--user | --sys-prefix | --prefix DIR]', details: ['Installs the "TypeScript (gradcam-ts)" Jupyter kernel.'] },
  'install-widget': { usage: 'install-widget [--user | --sys-prefix | --prefix DIR]', details: ['Installs the prebuilt JupyterLab 4 / Notebook 7 extension.', "The widget uses it when the kernel runs with GRADCAM_WIDGET=labextension (or showGradCam's frontEnd: 'labextension'); by default it draws through anywidget."] },
  lab: { usage: 'lab [--notebook] [--port N] [--dir DIR]', details: ["Opens the notebooks in the project's JupyterLab 4 (or Notebook 7), made on first use; a taken --port is refused."] },
  trust: {
    usage: 'trust [--methods gradcam,scorecam,...] [--images N] [--model DIR] [--data DIR] [--baseline blur|mean] [--randomisation-images N] --out DIR',
    details: ['Faithfulness table (deletion/insertion, ROAD, confidence), curves and the model-randomisation figure.', `--methods  any of ${CAM_METHOD_NAMES.join(', ')}.`],
  },
  train: {
    usage: 'train [--epochs N --batch-size N --lr X --data DIR --out DIR --checkpoint DIR --resume --limit N --threads N]',
    details: ['Trains the CIFAR-10 network into --out (default ./gradcam-model; the shipped model is never written), with a resumable checkpoint.'],
  },
};

/** `gradcam <command> --help`. */
export function commandHelp(name: string): string {
  const h = HELP[name];
  return [`usage: gradcam ${h.usage}`, '', ...h.details.map((d) => `  ${d}`)].join('\n');
}
