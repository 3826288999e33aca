"""The Keras side of bench/keras-models.ts (not CI): ImageNet-size Keras applications with random
weights (weights=None, a fixed seed: speed does not depend on trained weights, and the machines
cannot download Keras's), converted with tensorflowjs for gradcam-ts, and TensorFlow as the peer
timed in the same run.

    .venv-keras/bin/python python/keras_bench.py --make NAME --cache DIR   # DIR/NAME/{model.h5,layers,graph}
    .venv-keras/bin/python python/keras_bench.py --serve [--threads 2]     # JSON lines on stdin/stdout
    .venv-keras/bin/python python/keras_bench.py --out DIR [--runs 15]     # MobileNetV2 into DIR, one timing line

--make writes into a temp folder beside DIR/NAME and renames it into place, so a cache entry is
whole or absent. --serve answers, one JSON line each:
  {"cmd": "load", "dir": DIR/NAME, "name": NAME}                  -> {"tensorflow", "layer", "size", "classes"}
  {"cmd": "time", "figure": F, "repeats": R, "warmup": W}         -> {"ms": [...]} (W calls first, once per figure)
with F one of forward, gradcam-all (one forward, a persistent tape, one gradient per class) and
guided (Guided Grad-CAM of the predicted class: one pass through guided ReLUs gives both gradients).
The --out form is the older one-shot MobileNetV2 used by bench/widget-round-trip.ts.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_fixtures as kf  # noqa: E402  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

CLASSES = 5
SEED = 0

# name -> (builder, input size, the layer gradcam-ts explains by default: the last 4-D one)
MODELS = {
    'mobilenet_v2': (lambda: kf.keras.applications.MobileNetV2(input_shape=(224, 224, 3), weights=None, classes=CLASSES), 224, 'out_relu'),
    'resnet50': (lambda: kf.keras.applications.ResNet50(input_shape=(224, 224, 3), weights=None, classes=CLASSES), 224, 'conv5_block3_out'),
    'inception_v3': (lambda: kf.keras.applications.InceptionV3(input_shape=(299, 299, 3), weights=None, classes=CLASSES), 299, 'mixed10'),
}


def build(name):
    builder, size, layer = MODELS[name]
    kf.keras.utils.set_random_seed(SEED)
    return builder(), size, layer


def make(name, cache):
    """DIR/NAME/model.h5 (for TensorFlow) and layers/ + graph/ (for gradcam-ts) from one model."""
    dest = os.path.join(cache, name)
    if os.path.isfile(os.path.join(dest, 'layers', 'model.json')) and os.path.isfile(os.path.join(dest, 'model.h5')):
        return dest
    os.makedirs(cache, exist_ok=True)
    model, size, layer = build(name)
    tmp = tempfile.mkdtemp(prefix=f'.{name}-', dir=cache)
    try:
        graph_error = kf.convert(model, tmp, {'classNames': [f'class {i}' for i in range(CLASSES)]})
        model.save(os.path.join(tmp, 'model.h5'), save_format='h5')
        with open(os.path.join(tmp, 'about.json'), 'w') as f:
            json.dump({'name': name, 'size': size, 'layer': layer, 'classes': CLASSES, 'seed': SEED,
                       'tensorflow': tf.__version__, 'graph_error': graph_error}, f)
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


class Peer:
    """One model's figures in TensorFlow, written well (tf.function, one forward per call)."""

    def __init__(self, folder, name):
        _, size, layer = MODELS[name]
        self.model = kf.keras.models.load_model(os.path.join(folder, 'model.h5'), compile=False)
        kf.without_softmax(self.model)
        self.guided_model = kf.keras.models.clone_model(self.model)
        self.guided_model.set_weights(self.model.get_weights())
        kf.make_guided(self.guided_model)
        run = kf.target_and_scores(self.model, layer)
        guided_run = kf.target_and_scores(self.guided_model, layer)
        self.x = tf.constant(np.random.default_rng(SEED).uniform(-1, 1, (1, size, size, 3)).astype('float32'))
        self.info = {'tensorflow': tf.__version__, 'layer': layer, 'size': size, 'classes': CLASSES}
        self.warm = set()

        @tf.function
        def forward(x):
            return self.model(x, training=False)

        @tf.function
        def gradcam_all(x):
            with tf.GradientTape(persistent=True) as tape:
                a, scores = run(x)
                ys = [scores[0, c] for c in range(CLASSES)]
            maps = []
            for y in ys:  # one backward pass per class from the same forward
                alpha = tf.reduce_mean(tape.gradient(y, a), axis=(1, 2))
                maps.append(tf.nn.relu(tf.reduce_sum(a[0] * alpha, axis=-1)))
            return tf.stack(maps)

        @tf.function
        def guided(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                a, scores = guided_run(x)
                y = tf.reduce_max(scores[0])
            dx, da = tape.gradient(y, [x, a])
            cam = tf.nn.relu(tf.reduce_sum(a[0] * tf.reduce_mean(da, axis=(1, 2)), axis=-1))
            up = tf.image.resize(cam[None, :, :, None], (size, size))[0, :, :, 0]
            return dx[0] * (up / (tf.reduce_max(up) + 1e-7))[:, :, None]

        self.figures = {'forward': forward, 'gradcam-all': gradcam_all, 'guided': guided}

    def time(self, figure, repeats, warmup):
        fn = self.figures[figure]
        if figure not in self.warm:
            self.warm.add(figure)
            for _ in range(max(warmup, 1)):  # the first call traces the tf.function
                fn(self.x).numpy()
        out = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(self.x).numpy()
            out.append((time.perf_counter() - t0) * 1000)
        return out


def serve(threads):
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    peer = None
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            if msg['cmd'] == 'load':
                peer = Peer(msg['dir'], msg['name'])
                reply = peer.info
            elif msg['cmd'] == 'time':
                assert peer is not None, 'load first'
                reply = {'ms': peer.time(msg['figure'], int(msg['repeats']), int(msg.get('warmup', 3)))}
            else:
                reply = {'error': f"unknown command {msg['cmd']}"}
        except Exception as err:  # the driver prints it and goes on without this figure
            reply = {'error': f'{type(err).__name__}: {err}'}
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()


def one_shot(out, runs):
    """The older interface: MobileNetV2 converted into OUT, its TensorFlow forward and Grad-CAM times."""
    tf.config.threading.set_intra_op_parallelism_threads(2)
    model, _, layer = build('mobilenet_v2')
    kf.convert(model, out, {'classNames': [f'class {i}' for i in range(CLASSES)]})
    model.save(os.path.join(out, 'model.h5'), save_format='h5')
    peer = Peer(out, 'mobilenet_v2')

    def median_min(figure):
        ms = peer.time(figure, runs, 3)
        return float(np.median(ms)), float(np.min(ms))

    print(json.dumps({'tensorflow': tf.__version__, 'forward_ms': median_min('forward'), 'gradcam_all_ms': median_min('gradcam-all')}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--make', choices=sorted(MODELS))
    ap.add_argument('--cache')
    ap.add_argument('--serve', action='store_true')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--out')
    ap.add_argument('--runs', type=int, default=15)
    args = ap.parse_args()
    if args.make:
        if not args.cache:
            ap.error('--make needs --cache DIR')
        print(make(args.make, args.cache))
    elif args.serve:
        serve(args.threads)
    elif args.out:
        one_shot(args.out, args.runs)
    else:
        ap.error('one of --make, --serve, --out')


if __name__ == '__main__':
    main()
