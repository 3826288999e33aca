"""Keras-side truths for gradcam-ts (not run in CI; its outputs are committed under test/fixtures/keras/).

For each model: build it in Keras (tf-keras), convert it with tensorflowjs to the layers format
(layers/) and the graph format (graph/), and compute in Keras, on fixed images, the reference
Grad-CAM (pre-softmax scores, alpha_k^c and the h x w map of every class at the default target
layer) and guided backprop (the input gradient of the predicted class with every ReLU/ReLU6
passing back only positive gradient through positive input). mocha then checks gradcam-ts on the
converted models against these numbers (test/cam-keras-fixtures.test.ts).

Models: Keras-applications MobileNetV2, ResNet50, InceptionV3, DenseNet121 and EfficientNetB0 at
reduced width and input size (random weights, batch norm calibrated on random images so that
activations stay in a sensible range), and a small CNN trained on the real CIFAR-10 for a few epochs.

    python/venv keras
    .venv-keras/bin/python python/keras_fixtures.py --cifar10 ../shared/cifar-10-batches-bin [--epochs 3]

The CIFAR-10 folder (official binary format) is read where it is; nothing of it is copied except
the two test images the references are computed on.

These are all classifiers explained at their class logits. The other output kinds (multi-label
sigmoid, regression, two named outputs, segmentation, a raw detector, an embedding, grayscale and
channels-first inputs, ViT token layers), each with its target, Grad-CAM, Ablation-CAM and guided
backprop, are in python/keras_target_fixtures.py (test/fixtures/keras/targets/, checked by
test/cam/keras-targets.test.ts); it imports this file's helpers (conversion, test images, make_guided).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')  # tensorflowjs 4.22 converts Keras 2 models
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tf_keras import layers  # noqa: E402
# The builders and their helpers (stack1, conv2d_bn, conv_block) live in tf_keras.src.
from tf_keras.src.applications import densenet as densenet_app  # noqa: E402
from tf_keras.src.applications import efficientnet as efficientnet_app  # noqa: E402
from tf_keras.src.applications import inception_v3 as inception_app  # noqa: E402
from tf_keras.src.applications import resnet as resnet_app  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'keras')
CLASSES = 5
CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']


# ---------------------------------------------------------------------------------------------
# The models (reduced so that all committed fixtures stay a few MB)

def mobilenet_v2():
    # Flat functional model at width 0.1 (the last 1x1 conv keeps its 1280 filters), softmax head
    # after GlobalAveragePooling: the default layer is out_relu.
    return keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.1, weights=None, classes=CLASSES), 'out_relu', 'block_13_expand_relu', '-1..1'


def resnet50():
    # ResNet50's blocks (3, 4, 6, 3 bottlenecks) at 1/16 width; the head pools to 1x1 with an
    # AveragePooling2D and flattens, the case where "last 4-D layer" picked a 1x1 map.
    def stack_fn(x):
        x = resnet_app.stack1(x, 4, 3, stride1=1, name='conv2')
        x = resnet_app.stack1(x, 8, 4, name='conv3')
        x = resnet_app.stack1(x, 16, 6, name='conv4')
        return resnet_app.stack1(x, 32, 3, name='conv5')

    base = resnet_app.ResNet(stack_fn, False, True, 'resnet50', include_top=False, weights=None, input_shape=(64, 64, 3))
    x = layers.AveragePooling2D(2, name='avg_pool')(base.output)
    x = layers.Flatten(name='flatten')(x)
    out = layers.Dense(CLASSES, activation='softmax', name='predictions')(x)
    return keras.Model(base.input, out, name='resnet50_small'), 'conv5_block3_out', 'conv4_block6_out', 'caffe'


def inception_v3():
    # InceptionV3 with every conv at 1/16 of its filters; 139x139 is the smallest input whose
    # mixed10 is still spatial (3x3). Its batch norms have scale=False.
    original = inception_app.conv2d_bn

    def narrow(x, filters, *args, **kwargs):
        return original(x, max(2, filters // 16), *args, **kwargs)

    inception_app.conv2d_bn = narrow
    try:
        model = inception_app.InceptionV3(input_shape=(139, 139, 3), weights=None, classes=CLASSES)
    finally:
        inception_app.conv2d_bn = original
    return model, 'mixed10', 'mixed7', '-1..1'


def densenet121():
    # DenseNet121's blocks (6, 12, 24, 16) with growth rate 4 instead of 32, used as a nested
    # base model under a new head (the usual transfer-learning shape): the default target is the
    # nested model itself.
    original = densenet_app.conv_block

    def thin(x, growth_rate, name):
        return original(x, 4, name)

    densenet_app.conv_block = thin
    try:
        base = densenet_app.DenseNet121(input_shape=(64, 64, 3), weights=None, include_top=False)
    finally:
        densenet_app.conv_block = original
    inputs = keras.Input((64, 64, 3), name='image')
    x = base(inputs)
    x = layers.GlobalAveragePooling2D(name='avg_pool')(x)
    out = layers.Dense(CLASSES, activation='softmax', name='predictions')(x)
    return keras.Model(inputs, out, name='densenet121_transfer'), 'densenet121', 'densenet121', 'torch'


def efficientnet_b0():
    # EfficientNetB0 at width 0.1. Its Normalization layer (not in tfjs) is the identity when
    # not adapted, so it is replaced by Rescaling(1) before conversion; swish, Multiply
    # (squeeze-excite), DepthwiseConv2D, Dropout remain.
    model = efficientnet_app.EfficientNet(0.1, 1.0, 64, 0.2, model_name='efficientnetb0_small', weights=None,
                                      input_shape=(64, 64, 3), classes=CLASSES)

    def clone(layer):
        if isinstance(layer, layers.Normalization):
            return layers.Rescaling(1.0, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    return keras.models.clone_model(model, clone_function=clone), 'top_activation', 'block6a_expand_activation', '0-255'


def cifar_cnn():
    inputs = keras.Input((32, 32, 3), name='image')
    x = layers.Rescaling(1 / 255.0, name='scale')(inputs)  # takes raw 0-255 pixels, like the shipped model
    x = layers.Conv2D(32, 3, padding='same', activation='relu', name='conv1')(x)
    x = layers.BatchNormalization(name='bn1')(x)
    x = layers.MaxPooling2D(name='pool1')(x)
    x = layers.SeparableConv2D(64, 3, padding='same', name='sep2')(x)
    x = layers.BatchNormalization(name='bn2')(x)
    x = layers.ReLU(name='relu2')(x)
    x = layers.MaxPooling2D(name='pool2')(x)
    x = layers.Conv2D(96, 3, padding='same', name='conv3')(x)
    x = layers.Activation('relu', name='relu3')(x)
    x = layers.Dropout(0.2, name='drop3')(x)
    x = layers.GlobalAveragePooling2D(name='gap')(x)
    out = layers.Dense(10, activation='softmax', name='predictions')(x)
    return keras.Model(inputs, out, name='cifar10_keras_cnn'), 'drop3', 'relu2', '0-255'


APPLICATIONS = {
    'mobilenet_v2': mobilenet_v2,
    'resnet50': resnet50,
    'inception_v3': inception_v3,
    'densenet121': densenet121,
    'efficientnet_b0': efficientnet_b0,
}


# ---------------------------------------------------------------------------------------------
# Inputs

def preprocess(pixels, mode):
    """The input ranges gradcam-ts's `inputRange` option implements, applied here in numpy."""
    x = pixels.astype(np.float32)
    if mode == '0-255':
        return x
    if mode == '0-1':
        return x / 255.0
    if mode == '-1..1':
        return x / 127.5 - 1.0
    if mode == 'torch':
        return (x / 255.0 - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    if mode == 'caffe':
        return x[..., ::-1] - np.array([103.939, 116.779, 123.68], np.float32)
    raise ValueError(mode)


def smooth_images(n, size, seed):
    """Fixed test images: smooth random colour fields with a few edges, integers 0-255."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (n, 6, 6, 3)).astype(np.float32)
    img = tf.image.resize(coarse, (size, size), method='bicubic').numpy()
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n):
        cx, cy, r = rng.uniform(0.3, 0.7) * size, rng.uniform(0.3, 0.7) * size, rng.uniform(0.15, 0.3) * size
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[i][disc] = rng.uniform(0, 255, 3)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def calibrate_batch_norm(model, images):
    """Batch-norm statistics from one pass over `images` (momentum 0), and random gamma/beta,
    so that a random-weight network has non-trivial, well-scaled activations."""
    rng = np.random.default_rng(7)
    bns = [l for l in all_layers(model) if isinstance(l, layers.BatchNormalization)]
    for bn in bns:
        if bn.scale:
            bn.gamma.assign(rng.uniform(0.6, 1.4, bn.gamma.shape).astype(np.float32))
        if bn.center:
            bn.beta.assign(rng.normal(0, 0.2, bn.beta.shape).astype(np.float32))
        bn.momentum = 0.0
    model(images, training=True)
    for bn in bns:
        bn.momentum = 0.99


def all_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)
        yield layer


# ---------------------------------------------------------------------------------------------
# Conversion

def import_tensorflowjs():
    """tensorflowjs imports tensorflow_decision_forests (to register decision-forest ops) and
    tensorflow_hub (for TF Hub URLs) at load time. Neither is used for a Keras model, and neither
    imports in this environment: the ydf wheel under TF-DF is built for protobuf 6 while
    TensorFlow 2.19 pins protobuf 5, and tensorflow_hub needs pkg_resources, which setuptools
    81+ no longer has. Empty modules stand in for both."""
    import types
    for name in ('tensorflow_decision_forests', 'tensorflow_hub'):
        sys.modules.setdefault(name, types.ModuleType(name))
    import tensorflowjs
    from tensorflowjs.converters import converter
    return tensorflowjs, converter


def convert(model, folder, metadata):
    """layers/ and graph/ beside each other, written to a temp folder first, then moved. Returns
    the graph converter's error message when it cannot make a graph model (then there is no graph/)."""
    tfjs, converter = import_tensorflowjs()
    graph_error = None
    with tempfile.TemporaryDirectory() as tmp:
        tfjs.converters.save_keras_model(model, os.path.join(tmp, 'layers'), metadata=metadata)
        h5 = os.path.join(tmp, 'model.h5')
        model.save(h5, save_format='h5')
        try:
            converter.dispatch_keras_h5_to_tfjs_graph_model_conversion(
                h5, os.path.join(tmp, 'graph'), metadata={'classNames': metadata['classNames']})
        except ValueError as err:
            # e.g. DenseNet: grappler fuses its BatchNorm+ReLU pairs into _FusedBatchNormEx, an op
            # tfjs does not have, and the converter refuses the graph.
            graph_error = ' '.join(str(err).split())
            shutil.rmtree(os.path.join(tmp, 'graph'), ignore_errors=True)  # whatever it wrote before failing
        for name in ('layers', 'graph'):
            dest = os.path.join(folder, name)
            shutil.rmtree(dest, ignore_errors=True)
            if os.path.isdir(os.path.join(tmp, name)):
                shutil.move(os.path.join(tmp, name), dest)
    return graph_error


# ---------------------------------------------------------------------------------------------
# References, computed in Keras by hand with tf.GradientTape

@tf.custom_gradient
def guided_relu(x):
    def grad(dy):
        return dy * tf.cast(dy > 0, dy.dtype) * tf.cast(x > 0, dy.dtype)
    return tf.nn.relu(x), grad


@tf.custom_gradient
def guided_relu6(x):
    def grad(dy):
        return dy * tf.cast(dy > 0, dy.dtype) * tf.cast((x > 0) & (x < 6), dy.dtype)
    return tf.nn.relu6(x), grad


def make_guided(model):
    """Swaps every ReLU (fused activations, Activation('relu'), ReLU and ReLU(6) layers) for its
    guided version, in place. Returns how many were swapped."""
    swapped = 0
    for layer in all_layers(model):
        act = getattr(layer, 'activation', None)
        if act is not None and getattr(act, '__name__', '') == 'relu':
            layer.activation = guided_relu
            swapped += 1
        elif isinstance(layer, layers.ReLU):
            assert layer.negative_slope == 0 and layer.threshold == 0, layer.name
            fn = guided_relu6 if layer.max_value == 6 else guided_relu
            assert layer.max_value in (None, 6), layer.name
            layer.call = (lambda f: lambda inputs, *a, **k: f(inputs))(fn)
            swapped += 1
    return swapped


def without_softmax(model):
    out_layer = model.layers[-1]
    assert out_layer.activation.__name__ == 'softmax', out_layer.name
    out_layer.activation = keras.activations.linear


def target_and_scores(model, target_name):
    """A function x -> (A, scores) through the model's own layers."""
    target = model.get_layer(target_name)
    if isinstance(target, keras.Model):  # a nested base model: run it, then the layers after it
        after = model.layers[model.layers.index(target) + 1:]

        def run(x):
            a = target(x, training=False)
            y = a
            for layer in after:
                y = layer(y, training=False)
            return a, y
        return run
    split = keras.Model(model.inputs, [target.output, model.output])
    return lambda x: split(x, training=False)


def grad_cam(model, layer_name, x):
    """Scores, alpha_k^c, maps and A at one layer, every class of every image, by tf.GradientTape."""
    run = target_and_scores(model, layer_name)
    logits_list, alphas, maps, A_list = [], [], [], []
    for i in range(len(x)):
        xi = tf.constant(x[i:i + 1])
        per_class = []
        for c in range(model.output_shape[-1]):
            with tf.GradientTape() as tape:
                a, scores = run(xi)
                y = scores[0, c]
            g = tape.gradient(y, a)
            alpha = tf.reduce_mean(g, axis=(1, 2))[0]  # [K]
            cam = tf.nn.relu(tf.reduce_sum(a[0] * alpha, axis=-1))  # [h,w]
            per_class.append((alpha.numpy(), cam.numpy()))
        logits_list.append(scores[0].numpy())
        alphas.append(np.stack([p[0] for p in per_class]))
        maps.append(np.stack([p[1] for p in per_class]))
        A_list.append(a[0].numpy())
    return np.stack(logits_list), np.stack(alphas), np.stack(maps), np.stack(A_list)


def references(model, target_name, inner_name, x):
    """Grad-CAM at the default target layer and at an inner layer (where the head is a deep,
    non-linear network, not just pooling + Dense), and guided backprop of the predicted class."""
    without_softmax(model)
    logits, alphas, maps, activations = grad_cam(model, target_name, x)
    _, inner_alphas, inner_maps, inner_activations = grad_cam(model, inner_name, x)
    predicted = logits.argmax(axis=1)

    def plain_gradient(xi, c):
        xt = tf.constant(xi[None])
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = model(xt, training=False)[0, c]
        return tape.gradient(y, xt)[0].numpy()

    plain = [plain_gradient(x[i], predicted[i]) for i in range(len(x))]
    swapped = make_guided(model)
    guided = [plain_gradient(x[i], predicted[i]) for i in range(len(x))]
    check = model(tf.constant(x), training=False).numpy()
    assert np.allclose(check, logits, rtol=1e-4, atol=1e-4), 'the guided swap changed the forward pass'
    if swapped:
        differs = max(np.abs(g - p).max() for g, p in zip(guided, plain))
        assert differs > 0, 'guided backprop equals the plain gradient: the swap did not take'
    return {
        'logits': logits, 'predicted': predicted, 'alphas': alphas, 'maps': maps, 'activations': activations,
        'innerAlphas': inner_alphas, 'innerMaps': inner_maps, 'innerActivations': inner_activations,
        'guided': np.stack(guided), 'guidedReLUs': swapped,
    }


def graph_nodes_of(graph_dir, model, target_name):
    """Nodes of the converted graph named after the target layer (for a nested model, after its
    last layer), for the record: the tests check the node gradcam-ts picks by its values."""
    target = model.get_layer(target_name)
    path = f'/{target_name}/{target.layers[-1].name}/' if isinstance(target, keras.Model) else f'/{target_name}/'
    with open(os.path.join(graph_dir, 'model.json')) as f:
        nodes = [n['name'] for n in json.load(f)['modelTopology']['node']]
    return [n for n in nodes if path in f'/{n}/']


def write_arrays(folder, info, arrays):
    """reference.json (info + each array's offset, dtype, shape) + reference.bin (uint8 stays uint8, the
    rest float32, each 4-byte aligned), each through a temp file and a rename."""
    blobs, entries, offset = [], {}, 0
    for key, arr in arrays.items():
        arr = arr.astype(np.uint8 if arr.dtype == np.uint8 else np.float32)
        data = arr.tobytes()
        entries[key] = {'offset': offset, 'dtype': str(arr.dtype), 'shape': list(arr.shape)}
        blobs.append(data)
        offset += len(data)
        pad = (-offset) % 4
        blobs.append(b'\0' * pad)
        offset += pad
    info = dict(info, arrays=entries)
    for name, content, mode in (('reference.bin', b''.join(blobs), 'wb'), ('reference.json', json.dumps(info, indent=1), 'w')):
        tmp = os.path.join(folder, name + '.tmp')
        with open(tmp, mode) as f:
            f.write(content)
        os.replace(tmp, os.path.join(folder, name))


def write_fixture(folder, info, ref, pixels):
    keys = ('logits', 'alphas', 'maps', 'activations', 'innerAlphas', 'innerMaps', 'innerActivations', 'guided')
    arrays = {'pixels': pixels.astype(np.uint8), **{k: ref[k].astype(np.float32) for k in keys}}
    write_arrays(folder, dict(info, predicted=[int(p) for p in ref['predicted']], guidedReLUs=ref['guidedReLUs']), arrays)


# ---------------------------------------------------------------------------------------------
# CIFAR-10 (official binary format: 1 label byte + 3072 bytes CHW per record)

def read_cifar(path, names):
    data = b''.join(open(os.path.join(path, n), 'rb').read() for n in names)
    rec = np.frombuffer(data, np.uint8).reshape(-1, 3073)
    return rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), rec[:, 0].astype(np.int64)


def train_cifar(model, cifar_dir, epochs):
    x, y = read_cifar(cifar_dir, [f'data_batch_{i}.bin' for i in range(1, 6)])
    xt, yt = read_cifar(cifar_dir, ['test_batch.bin'])
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    model.fit(x.astype(np.float32), y, batch_size=128, epochs=epochs, validation_data=(xt.astype(np.float32), yt), verbose=2)
    _, acc = model.evaluate(xt.astype(np.float32), yt, verbose=0)
    return xt, yt, float(acc)


# ---------------------------------------------------------------------------------------------

def build_fixture(name, model, target, inner, input_range, pixels, metadata):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    graph_error = convert(model, folder, metadata)
    x = preprocess(pixels, input_range)
    ref = references(model, target, inner, x)
    graph_dir = os.path.join(folder, 'graph')
    info = {
        'model': model.name, 'layer': target, 'innerLayer': inner, 'inputRange': input_range,
        'graphNodes': None if graph_error else graph_nodes_of(graph_dir, model, target), 'graphConversionError': graph_error,
        'inputShape': list(model.input_shape[1:]), 'layerShape': list(ref['activations'].shape[1:]),
        'innerLayerShape': list(ref['innerActivations'].shape[1:]),
        'classNames': metadata['classNames'], 'tensorflow': tf.__version__, 'keras': keras.__version__,
    }
    info.update({k: v for k, v in metadata.items() if k != 'classNames'})
    write_fixture(folder, info, ref, pixels)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)
    print(f'{name}: layer {target} {info["layerShape"]}, graph nodes {info["graphNodes"]}, '
          f'{ref["guidedReLUs"]} guided ReLUs, {size / 1e6:.2f} MB', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cifar10', required=True, help='folder of the official CIFAR-10 binary files')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--only', nargs='*', help='model names to rebuild (default: all)')
    args = parser.parse_args()
    tf.keras.utils.set_random_seed(1234)
    wanted = set(args.only or list(APPLICATIONS) + ['cifar10_cnn'])
    for name, build in APPLICATIONS.items():
        if name not in wanted:
            continue
        model, target, inner, input_range = build()
        size = model.input_shape[1]
        calibrate_batch_norm(model, preprocess(smooth_images(16, size, seed=1), input_range))
        pixels = smooth_images(1, size, seed=100 + len(name))
        names = [f'class {chr(ord("a") + i)}' for i in range(CLASSES)]
        build_fixture(name, model, target, inner, input_range, pixels, {'classNames': names})
    if 'cifar10_cnn' in wanted:
        model, target, inner, input_range = cifar_cnn()
        xt, yt, acc = train_cifar(model, args.cifar10, args.epochs)
        pick = [7, 12]  # two fixed test images
        build_fixture('cifar10_cnn', model, target, inner, input_range, xt[pick],
                      {'classNames': CIFAR_CLASSES, 'testAccuracy': acc, 'epochs': args.epochs, 'testIndices': pick,
                       'trueLabels': [int(v) for v in yt[pick]]})


if __name__ == '__main__':
    main()
