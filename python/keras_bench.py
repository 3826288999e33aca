"""The Keras side of bench/keras-models.ts (not CI): a 224x224 MobileNetV2 with random weights
(5 classes, softmax head), converted with tensorflowjs to a layers model for gradcam-ts, and timed
in TensorFlow in the same run: forward at batch 1, and Grad-CAM of all 5 classes written well
(one forward pass, then the 5 class gradients of A from one persistent tape). Prints one JSON line.

    .venv-keras/bin/python python/keras_bench.py --out DIR [--runs 15]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_fixtures as kf  # noqa: E402  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def median_ms(fn, runs):
    for _ in range(3):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times)), float(np.min(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--runs', type=int, default=15)
    args = ap.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(2)
    model = kf.keras.applications.MobileNetV2(input_shape=(224, 224, 3), weights=None, classes=5)
    kf.convert(model, args.out, {'classNames': [f'class {i}' for i in range(5)]})
    kf.without_softmax(model)
    run = kf.target_and_scores(model, 'out_relu')
    x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (1, 224, 224, 3)).astype('float32'))

    @tf.function
    def forward(x):
        return model(x, training=False)

    @tf.function
    def gradcam_all(x):
        with tf.GradientTape(persistent=True) as tape:
            a, scores = run(x)
            ys = [scores[0, c] for c in range(5)]
        maps = []
        for y in ys:  # one backward pass per class from the same forward
            alpha = tf.reduce_mean(tape.gradient(y, a), axis=(1, 2))  # [1, K]
            maps.append(tf.nn.relu(tf.reduce_sum(a[0] * alpha, axis=-1)))
        return tf.stack(maps)

    fwd = median_ms(lambda: forward(x).numpy(), args.runs)
    cam = median_ms(lambda: gradcam_all(x).numpy(), args.runs)
    print(json.dumps({'tensorflow': tf.__version__, 'forward_ms': fwd, 'gradcam_all_ms': cam}))


if __name__ == '__main__':
    main()
