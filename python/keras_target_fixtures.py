"""Keras-side truths for gradcam-ts's targets (issue 21, part 6): one small model per output kind.

Not run in CI; its outputs are committed under test/fixtures/keras/targets/NAME/ and checked by
test/cam/keras-targets.test.ts. Each model is built in Keras (tf-keras), converted with
tensorflowjs (layers/ and graph/, or graph/ alone where only a graph model is natural), and for
each *case* (an output, a target and a layer or graph node) the references are computed in Keras
with tf.GradientTape on two fixed images:

- Grad-CAM: A at the layer, alpha_k = mean over positions of dy/dA^k, map = ReLU(sum_k alpha_k A^k);
- Ablation-CAM (gradient-free): alpha_k = (y - y_k) / y with channel k of A set to 0 (the paper's
  ablation; pytorch-grad-cam ablates to min(A) - 1e7 instead), map = ReLU(sum_k alpha_k A^k);
- guided backprop: dy/dinput with every ReLU passing back only positive gradient through
  positive input (keras_fixtures.make_guided), [H,W,C] channels last. Every model here has ReLUs
  (the ViTs in their MLPs), so every case has one; guided backprop of a model without ReLUs would
  be its plain gradient, and is skipped by design rather than stored.

y is always scored on the output BEFORE its final softmax / sigmoid, and the target is resolved
on each image's own output exactly as gradcam-ts resolves it (src/cam/resolve-target.ts):

  multilabel_cnn   Dense(5, sigmoid) 'labels'; the predicted label = argmax of the 5 logits; y = its
                   logit (pre-sigmoid). pytorch-grad-cam: BinaryClassifierOutputTarget(1) on that
                   label's logit (ClassifierOutputTarget on a logit vector is the same number). It has
                   no multi-label default; gradcam-ts explains the most confident label, not every
                   label above 0.5.
  regression_cnn   Dense(1) 'age'; y = the value (pytorch-grad-cam: ClassifierOutputTarget(0), or
                   RawScoresOutputTarget on a one-value output).
  two_output       'species' Dense(3, softmax) and 'size' Dense(1): the class logit of the predicted
                   species (ClassifierOutputTarget(argmax)), and the named second output 'size'
                   (targets.ofOutput('size', targets.regression())).
  segmentation     encoder-decoder with one skip, Conv2D(3, 1x1, softmax) 'segmentation' [32,32,3],
                   briefly trained on synthetic discs (class 1) and squares (class 2). The class is
                   the dominant one: most argmax pixels, class 0 left out when another class wins
                   at least one pixel, ties to the lower index; y = sum of its pre-softmax scores
                   over the pixels where it is the argmax. pytorch-grad-cam: SemanticSegmentationTarget
                   (category, mask) on the logits; it leaves the choice of class to the user.
  detector         raw single-shot head: Conv2D(2 anchors x (4 + 3), 1x1) reshaped to [128, 7] (boxes
                   x1,y1,x2,y2 then 3 raw class scores, no activation). Default: the best detection,
                   argmax over anchors and classes of the raw score, y = that score. Second case: a
                   fixed anchor and class times the IoU of its predicted box with a given box. pytorch-
                   grad-cam's FasterRCNNBoxScoreTarget differs: it matches post-NMS detections to the
                   given boxes and adds IoU + softmax score; gradcam-ts scores raw pre-NMS rows, score x IoU.
  embedding        Dense(16) 'embedding'; y = cosine similarity to a fixed concept vector, stored in
                   the fixture: the unit embedding of a third image plus a seeded random unit vector
                   (with random weights the embeddings of any two images are ~0.999 alike, where the
                   cosine's gradient nearly vanishes). pytorch-grad-cam:
                   SimilarityToConceptTarget (torch.nn.CosineSimilarity, eps 1e-8; here 1e-12, as gradcam-ts).
  grayscale_cnn    input [28,28,1], Dense(4, softmax); y = the predicted class's logit (ClassifierOutputTarget).
  channels_first   graph input [N,3,32,32] (a Permute((2,3,1)) after the input), graph format only;
                   y = the predicted class's logit. Its pixels and guided backprop are stored
                   channels last (what gradcam-ts takes and returns); the model gets them transposed.
                   A second case explains conv2, [16,16,16]: a channels-last map whose shape cannot
                   tell its layout by itself.
  vit_tiny         graph format only: 8x8 patch embedding (Conv2D stride 8) -> 16 tokens + a class
                   token + position embeddings, 2 pre-norm transformer blocks (LayerNorm eps 1e-6,
                   2-head self-attention, ReLU MLP), final norm, head on the class token, softmax.
                   y = the predicted class's logit. Cases: the token sequence [17,16] at the last
                   block's first norm (pytorch-grad-cam's blocks[-1].norm1 with its reshape_transform:
                   the class token dropped, 16 tokens on a 4x4 grid; Ablation-CAM leaves the class
                   token as it is), and the patch embedding [4,4,16]. Norm, attention and the class
                   token's slice are custom layers whose ops tfjs can run and differentiate (see
                   vit_keras for why).
  vit_keras        the same ViT from Keras's own layers (LayerNormalization(epsilon=1e-6),
                   MultiHeadAttention, Cropping1D for the class token), graph format only, as a user
                   would build it. tfjs 4.22 cannot explain it yet: MultiHeadAttention converts to
                   Einsum, which tfjs-wasm cannot run and no tfjs backend can differentiate;
                   LayerNormalization to SquaredDifference(x, mean), whose tfjs gradient does not sum
                   over the broadcast axis; Cropping1D to StridedSlice, which has no tfjs gradient.
                   (LayerNormalization with its default epsilon converts to a training-mode
                   FusedBatchNormV3 that tfjs computes as +-Infinity; with TensorFlow's oneDNN
                   optimisations on, the default on x86, grappler fuses it into _MklLayerNorm and
                   the conversion fails, so this one model is converted in a child process with
                   TF_ENABLE_ONEDNN_OPTS=0.)

The other graph models are converted as a user's x86 TensorFlow converts them, oneDNN on: there
grappler fuses a Dense's sigmoid into its _FusedMatMul (multilabel_cnn), not a separate Sigmoid.

Cases (target specs as gradcam-ts takes them, resolved indices, layer and graph node) go to
reference.json; arrays (pixels, each output before its activation, A, alphas, maps, guided) to
reference.bin. Models take raw 0-255 pixels (a Rescaling layer first). Regenerate with

    python/venv keras
    .venv-keras/bin/python python/keras_target_fixtures.py [--only NAME ...]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_fixtures as kf  # noqa: E402  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tf_keras import layers  # noqa: E402

OUT = os.path.join(kf.OUT, 'targets')
MIN_MARGIN = 1e-4  # an argmax (class, pixel, detection) must win by this much (100x the float32 noise between TF and tfjs), or it could flip


# ---------------------------------------------------------------------------------------------
# Custom layers of the ViT (graph format only: tfjs-layers has no such layers)

class ClassToken(layers.Layer):
    """A learned token put in front of the sequence."""

    def build(self, shape):
        self.token = self.add_weight(name='token', shape=(1, 1, shape[-1]), initializer=keras.initializers.RandomNormal(0, 0.5))

    def call(self, x):
        return tf.concat([tf.tile(self.token, [tf.shape(x)[0], 1, 1]), x], axis=1)


class PositionEmbedding(layers.Layer):
    def build(self, shape):
        self.position = self.add_weight(name='position', shape=(1, shape[1], shape[2]), initializer=keras.initializers.RandomNormal(0, 0.5))

    def call(self, x):
        return x + self.position


class SelfAttention(layers.Layer):
    """Multi-head self-attention with plain matmuls (converts to MatMul / BatchMatMulV2)."""

    def __init__(self, heads, **kwargs):
        super().__init__(**kwargs)
        self.heads = heads

    def build(self, shape):
        d = shape[-1]
        init = keras.initializers.GlorotUniform()
        self.w = {k: self.add_weight(name=f'w{k}', shape=(d, d), initializer=init) for k in 'qkvo'}
        self.b = {k: self.add_weight(name=f'b{k}', shape=(d,), initializer=keras.initializers.RandomNormal(0, 0.1)) for k in 'qkvo'}

    def call(self, x):
        n, t, d = tf.shape(x)[0], x.shape[1], x.shape[2]
        dk = d // self.heads

        def split(k):
            y = tf.matmul(tf.reshape(x, [-1, d]), self.w[k]) + self.b[k]
            return tf.transpose(tf.reshape(y, [n, t, self.heads, dk]), [0, 2, 1, 3])  # [n, heads, t, dk]

        q, k, v = split('q'), split('k'), split('v')
        attention = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) / float(np.sqrt(dk)), axis=-1)
        y = tf.reshape(tf.transpose(tf.matmul(attention, v), [0, 2, 1, 3]), [-1, d])
        return tf.reshape(tf.matmul(y, self.w['o']) + self.b['o'], [n, t, d])

    def get_config(self):
        return dict(super().get_config(), heads=self.heads)


class LayerNorm(layers.Layer):
    """keras.layers.LayerNormalization's numbers (epsilon 1e-6, as timm's ViT) with ops tfjs can
    differentiate: LayerNormalization converts to SquaredDifference(x, mean), whose tfjs gradient
    does not sum over the broadcast axis (tfjs 4.22), or with its default epsilon to a training-mode
    FusedBatchNormV3, which tfjs computes as +-Infinity."""

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, shape):
        self.gamma = self.add_weight(name='gamma', shape=(shape[-1],), initializer=keras.initializers.RandomNormal(1, 0.1))
        self.beta = self.add_weight(name='beta', shape=(shape[-1],), initializer=keras.initializers.RandomNormal(0, 0.1))

    def call(self, x):
        centred = x - tf.reduce_mean(x, axis=-1, keepdims=True)
        variance = tf.reduce_mean(centred * centred, axis=-1, keepdims=True)
        return centred * tf.math.rsqrt(variance + self.epsilon) * self.gamma + self.beta

    def get_config(self):
        return dict(super().get_config(), epsilon=self.epsilon)


class TakeClassToken(layers.Layer):
    """x[:, 0] as tf.slice (a Slice op). keras.layers.Cropping1D or x[:, 0] make a StridedSlice,
    which no tfjs backend can differentiate (tfjs 4.22 has no StridedSlice gradient)."""

    def call(self, x):
        return tf.reshape(tf.slice(x, [0, 0, 0], [-1, 1, -1]), [-1, x.shape[-1]])


CUSTOM_OBJECTS = {'LayerNorm': LayerNorm, 'ClassToken': ClassToken, 'PositionEmbedding': PositionEmbedding, 'SelfAttention': SelfAttention, 'TakeClassToken': TakeClassToken}


# ---------------------------------------------------------------------------------------------
# The models: each builder returns (model, fixture info). Seeds are set per model.

def conv(x, filters, name, k=3, **kwargs):
    """A ReLU conv with small random biases (as trained ones are; zero biases are dropped by the
    converter's grappler, which then moves the ReLU behind a following max pool)."""
    return layers.Conv2D(filters, k, padding='same', activation='relu', name=name,
                         bias_initializer=keras.initializers.RandomNormal(0, 0.05), **kwargs)(x)


def cnn_trunk(inputs):
    """Raw 0-255 pixels -> 8x8x16 (for a 32x32 input): three ReLU convs, two max pools. The cases
    explain conv3, under a head that is not linear in it (conv4, then pooling and the output):
    with GAP + Dense alone, alpha would be the Dense weights / hw for every image."""
    x = layers.Rescaling(1 / 255.0, name='scale')(inputs)
    x = conv(x, 8, 'conv1')
    x = layers.MaxPooling2D(name='pool1')(x)
    x = conv(x, 16, 'conv2')
    x = layers.MaxPooling2D(name='pool2')(x)
    x = conv(x, 16, 'conv3')
    return x


def pooled_head(x):
    """conv4 (3x3 ReLU) on the explained map, then global average pooling."""
    return layers.GlobalAveragePooling2D(name='gap')(conv(x, 16, 'conv4'))


def multilabel_cnn():
    keras.utils.set_random_seed(21)
    inputs = keras.Input((32, 32, 3), name='image')
    x = pooled_head(cnn_trunk(inputs))
    out = layers.Dense(5, activation='sigmoid', name='labels', bias_initializer=keras.initializers.RandomNormal(0, 0.5))(x)
    model = keras.Model(inputs, out, name='multilabel_cnn')
    cases = [case('predicted label', 'labels', {'kind': 'sigmoid-label', 'label': 'predicted', 'negative': False}, 'conv3')]
    return model, {'kind': 'labels', 'formats': ['layers', 'graph'], 'classNames': [f'label {i}' for i in range(5)], 'cases': cases}


def regression_cnn():
    keras.utils.set_random_seed(22)
    inputs = keras.Input((32, 32, 3), name='image')
    x = pooled_head(cnn_trunk(inputs))
    out = layers.Dense(1, name='age', bias_initializer=keras.initializers.Constant(2.0))(x)
    model = keras.Model(inputs, out, name='regression_cnn')
    cases = [case('value', 'age', {'kind': 'regression', 'index': 0, 'direction': 'raise'}, 'conv3')]
    return model, {'kind': 'regression', 'formats': ['layers', 'graph'], 'classNames': None, 'cases': cases}


def two_output():
    keras.utils.set_random_seed(23)
    inputs = keras.Input((32, 32, 3), name='image')
    x = pooled_head(cnn_trunk(inputs))
    species = layers.Dense(3, activation='softmax', name='species')(x)
    size = layers.Dense(1, name='size', bias_initializer=keras.initializers.Constant(1.5))(x)
    model = keras.Model(inputs, [species, size], name='two_output')
    cases = [
        case('species (first output)', 'species', {'kind': 'class-logit', 'class': 'predicted'}, 'conv3'),
        case("named second output 'size'", 'size', {'kind': 'regression', 'index': 0, 'direction': 'raise', 'output': 'size'}, 'conv3'),
    ]
    return model, {'kind': 'classes+regression', 'formats': ['layers', 'graph'], 'classNames': None, 'cases': cases}


def segmentation():
    keras.utils.set_random_seed(24)
    inputs = keras.Input((32, 32, 3), name='image')
    x = layers.Rescaling(1 / 255.0, name='scale')(inputs)
    e1 = conv(x, 8, 'enc1')  # 32x32
    e2 = conv(layers.MaxPooling2D(name='pool1')(e1), 16, 'enc2')  # 16x16
    b = conv(layers.MaxPooling2D(name='pool2')(e2), 16, 'bottleneck')  # 8x8
    u = layers.UpSampling2D(name='up1')(b)
    d1 = conv(layers.Concatenate(name='skip1')([u, e2]), 16, 'dec1')  # 16x16
    d2 = conv(layers.UpSampling2D(name='up2')(d1), 8, 'dec2')  # 32x32
    out = layers.Conv2D(3, 1, activation='softmax', name='segmentation')(d2)
    model = keras.Model(inputs, out, name='segmentation')
    x_train, y_train = shapes_images(2048, 32, seed=5)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(x_train.astype(np.float32), y_train, batch_size=64, epochs=20, verbose=0)
    seg = {'kind': 'segmentation', 'class': 'predicted'}
    cases = [case('dominant class, predicted mask', 'segmentation', seg, 'dec1'),
             case('the same at the bottleneck (the head has the skip)', 'segmentation', seg, 'bottleneck')]
    return model, {'kind': 'map', 'formats': ['layers', 'graph'], 'classNames': ['background', 'disc', 'square'], 'cases': cases,
                   'trainingAccuracy': float(history.history['accuracy'][-1])}


ANCHORS, DET_CLASSES = 2, 3


def detector():
    keras.utils.set_random_seed(25)
    inputs = keras.Input((32, 32, 3), name='image')
    x = conv(cnn_trunk(inputs), 16, 'det_features')
    raw = layers.Conv2D(ANCHORS * (4 + DET_CLASSES), 1, name='det_raw')(x)
    out = layers.Reshape((8 * 8 * ANCHORS, 4 + DET_CLASSES), name='detections')(raw)
    model = keras.Model(inputs, out, name='detector')
    # Boxes near [-1,-1,1,1] (proper corners) so that an IoU with a given box is defined and smooth.
    kernel, bias = model.get_layer('det_raw').get_weights()
    for a in range(ANCHORS):
        kernel[..., a * 7:a * 7 + 4] *= 0.3
        bias[a * 7:a * 7 + 4] = [-1, -1, 1, 1]
        kernel[..., a * 7 + 4:a * 7 + 7] *= 4  # class scores that depend on the image more than on the bias
    model.get_layer('det_raw').set_weights([kernel, bias])
    cases = [
        case('best detection', 'detections', {'kind': 'detection', 'anchor': 'best', 'class': 'best'}, 'det_features'),
        # anchor, class and box are filled in from image 0's best detection (build_fixture)
        case('a fixed detection x IoU with a given box', 'detections', {'kind': 'detection', 'anchor': None, 'class': None, 'box': None}, 'det_features'),
    ]
    return model, {'kind': 'detections', 'formats': ['layers', 'graph'], 'classNames': None, 'cases': cases,
                   'layout': {'anchors': ANCHORS, 'grid': [8, 8], 'rows': 'grid position major, then anchor', 'row': 'x1 y1 x2 y2 then 3 raw class scores'}}


def embedding():
    keras.utils.set_random_seed(26)
    inputs = keras.Input((32, 32, 3), name='image')
    x = pooled_head(cnn_trunk(inputs))
    out = layers.Dense(16, name='embedding')(x)
    model = keras.Model(inputs, out, name='embedding_cnn')
    cases = [case('cosine similarity to a concept', 'embedding', {'kind': 'embedding', 'concept': 'stored'}, 'conv3')]
    return model, {'kind': 'embedding', 'formats': ['layers', 'graph'], 'classNames': None, 'cases': cases}


def grayscale_cnn():
    keras.utils.set_random_seed(27)
    inputs = keras.Input((28, 28, 1), name='image')
    x = layers.Rescaling(1 / 255.0, name='scale')(inputs)
    x = conv(x, 8, 'conv1')
    x = layers.MaxPooling2D(name='pool1')(x)
    x = conv(x, 16, 'conv2')
    x = layers.MaxPooling2D(name='pool2')(x)
    x = conv(x, 16, 'conv3')  # 7x7
    out = layers.Dense(4, activation='softmax', name='digits')(pooled_head(x))
    model = keras.Model(inputs, out, name='grayscale_cnn')
    cases = [case('predicted class', 'digits', {'kind': 'class-logit', 'class': 'predicted'}, 'conv3')]
    return model, {'kind': 'classes', 'formats': ['layers', 'graph'], 'classNames': ['zero', 'one', 'two', 'three'], 'cases': cases}


def channels_first():
    keras.utils.set_random_seed(28)
    inputs = keras.Input((3, 32, 32), name='image_nchw')
    x = layers.Permute((2, 3, 1), name='to_channels_last')(inputs)
    x = layers.Rescaling(1 / 255.0, name='scale')(x)
    x = conv(x, 8, 'conv1')
    x = layers.MaxPooling2D(name='pool1')(x)
    x = conv(x, 16, 'conv2')  # 16x16x16 (not followed by a max pool, so that the graph keeps its output)
    x = conv(x, 24, 'conv3', strides=2)  # 8x8x24
    out = layers.Dense(5, activation='softmax', name='predictions')(pooled_head(x))
    model = keras.Model(inputs, out, name='channels_first')
    target = {'kind': 'class-logit', 'class': 'predicted'}
    cases = [case('predicted class', 'predictions', target, 'conv3'),
             case('predicted class at a 16x16x16 map (h = w = K)', 'predictions', target, 'conv2')]
    return model, {'kind': 'classes', 'formats': ['graph'], 'channelsFirst': True, 'classNames': None, 'cases': cases}


def vit(name, stock, seed):
    """A tiny ViT: 8x8 patches of a 32x32 image -> 16 tokens + a class token (T = 17, D = 16), two
    pre-norm blocks, the head on the class token. stock=False writes LayerNorm, attention and the
    class token's slice with ops tfjs can differentiate; stock=True uses Keras's own layers."""
    keras.utils.set_random_seed(seed)
    D, T = 16, 16
    norm = (lambda n: layers.LayerNormalization(epsilon=1e-6, name=n)) if stock else (lambda n: LayerNorm(name=n))
    inputs = keras.Input((32, 32, 3), name='image')
    x = layers.Rescaling(1 / 127.5, offset=-1, name='scale')(inputs)
    x = layers.Conv2D(D, 8, strides=8, name='patch_embed')(x)  # 4x4xD
    x = layers.Reshape((T, D), name='patch_tokens')(x)
    x = ClassToken(name='cls_token')(x)
    x = PositionEmbedding(name='pos_embed')(x)
    for b in (1, 2):
        h = norm(f'block{b}_norm1')(x)
        attention = layers.MultiHeadAttention(2, D // 2, name=f'block{b}_attn')(h, h) if stock else SelfAttention(2, name=f'block{b}_attn')(h)
        x = layers.Add(name=f'block{b}_add1')([x, attention])
        h = norm(f'block{b}_norm2')(x)
        h = layers.Dense(2 * D, activation='relu', name=f'block{b}_mlp1')(h)
        x = layers.Add(name=f'block{b}_add2')([x, layers.Dense(D, name=f'block{b}_mlp2')(h)])
    x = norm('final_norm')(x)
    if stock:
        x = layers.Flatten(name='class_token')(layers.Cropping1D((0, T), name='take_class_token')(x))
    else:
        x = TakeClassToken(name='class_token')(x)
    out = layers.Dense(5, activation='softmax', name='head')(x)
    model = keras.Model(inputs, out, name=name)
    if stock:  # LayerNormalization starts at gamma 1, beta 0: move them, as training would
        rng = np.random.default_rng(seed)
        for layer in model.layers:
            if isinstance(layer, layers.LayerNormalization):
                layer.gamma.assign(rng.normal(1, 0.1, layer.gamma.shape).astype(np.float32))
                layer.beta.assign(rng.normal(0, 0.1, layer.beta.shape).astype(np.float32))
    target = {'kind': 'class-logit', 'class': 'predicted'}
    cases = [case('predicted class at the last block\'s norm1 (tokens)', 'head', target, 'block2_norm1', tokens={'extra': 1, 'height': 4, 'width': 4}),
             case('predicted class at the patch embedding', 'head', target, 'patch_embed')]
    return model, {'kind': 'classes', 'formats': ['graph'], 'classNames': None, 'cases': cases, 'oneDNN': not stock}


def vit_tiny():
    return vit('vit_tiny', stock=False, seed=29)


def vit_keras():
    return vit('vit_keras', stock=True, seed=31)


def case(name, output, target, layer, tokens=None):
    return {'name': name, 'output': output, 'target': target, 'layer': layer, 'tokens': tokens}


BUILDERS = {
    'multilabel_cnn': multilabel_cnn, 'regression_cnn': regression_cnn, 'two_output': two_output,
    'segmentation': segmentation, 'detector': detector, 'embedding': embedding, 'grayscale_cnn': grayscale_cnn,
    'channels_first': channels_first, 'vit_tiny': vit_tiny, 'vit_keras': vit_keras,
}


# ---------------------------------------------------------------------------------------------
# Images

def shapes_images(n, size, seed):
    """Smooth colour fields with a disc (class 1) and a square (class 2), and their label maps."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(40, 215, (n, 4, 4, 3)).astype(np.float32)
    img = tf.image.resize(coarse, (size, size), method='bilinear').numpy()
    labels = np.zeros((n, size, size), np.int64)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n):
        s = rng.uniform(0.15, 0.3) * size
        sx, sy = rng.uniform(0, size - s, 2)
        square = (xx >= sx) & (xx < sx + s) & (yy >= sy) & (yy < sy + s)
        cx, cy, r = rng.uniform(0.2, 0.8) * size, rng.uniform(0.2, 0.8) * size, rng.uniform(0.12, 0.25) * size
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[i][square] = rng.uniform(0, 255, 3)
        img[i][disc] = rng.uniform(0, 255, 3)
        labels[i][square] = 2
        labels[i][disc] = 1
    return np.clip(np.round(img), 0, 255).astype(np.uint8), labels


def fixture_images(name, shape):
    """Two fixed test images (pixels 0-255, channels last), and a third for the embedding's concept."""
    h, w, c = shape
    if name == 'segmentation':
        return shapes_images(2, h, seed=77)[0]
    seed = 300 + sum(map(ord, name))
    pixels = kf.smooth_images(3 if name == 'embedding' else 2, h, seed)
    if c == 1:  # luma, rounded
        pixels = np.round(pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))[..., None].astype(np.uint8)
    return pixels


# ---------------------------------------------------------------------------------------------
# Targets: resolved on one image's output before its activation (as resolve-target.ts does), then
# scored on a batch of outputs [B, ...] -> [B]

def dominant_class(z):
    """[H,W,C]: the class with the most argmax pixels, class 0 left out when another wins one."""
    C = z.shape[-1]
    area = np.bincount(z.argmax(-1).ravel(), minlength=C)
    return int(1 + area[1:].argmax()) if C > 1 and area[1:].sum() > 0 else int(area.argmax())


def margin(values):
    top = np.sort(np.asarray(values).ravel())[::-1]
    return float(top[0] - top[1]) if top.size > 1 else float('inf')


def resolve(target, z, concept):
    """(what was resolved, score function on [B, ...] outputs, argmax margins to check)."""
    kind = target['kind']
    if kind in ('class-logit', 'sigmoid-label'):
        ref = target['class'] if kind == 'class-logit' else target['label']
        c = int(z.argmax()) if ref == 'predicted' else int(ref)
        sign = -1.0 if target.get('negative') else 1.0
        return {'classIndex': c}, lambda o: sign * o[:, c], [margin(z)] if ref == 'predicted' else []
    if kind == 'regression':
        i = target['index']
        sign = -1.0 if target['direction'] == 'lower' else 1.0
        return {'classIndex': -1}, lambda o: sign * o[:, i], []
    if kind == 'segmentation':
        c = dominant_class(z) if target['class'] == 'predicted' else int(target['class'])
        winners = z.argmax(-1)
        mask = tf.constant((winners == c).astype(np.float32))
        area = np.bincount(winners.ravel(), minlength=z.shape[-1])
        pixel_margins = np.sort(z, axis=-1)[..., -1] - np.sort(z, axis=-1)[..., -2]
        return ({'classIndex': c, 'pixels': int((winners == c).sum()), 'area': [int(a) for a in area]},
                lambda o: tf.reduce_sum(o[..., c] * mask, axis=(1, 2)), [float(pixel_margins.min())])
    if kind == 'detection':
        scores = z[:, 4:]
        if target['anchor'] == 'best':
            a, k = np.unravel_index(int(scores.argmax()), scores.shape)
            margins = [margin(scores)]
        else:
            a, k = target['anchor'], target['class']
            margins = []
        a, k = int(a), int(k)
        resolved = {'classIndex': k, 'anchor': a, 'box': [float(v) for v in z[a, :4]]}
        if target.get('box') is None:
            return resolved, lambda o: o[:, a, 4 + k], margins
        given = np.asarray(target['box'], np.float32)

        def score(o):
            x1, y1, x2, y2 = (o[:, a, j] for j in range(4))
            w = tf.nn.relu(tf.minimum(x2, given[2]) - tf.maximum(x1, given[0]))
            h = tf.nn.relu(tf.minimum(y2, given[3]) - tf.maximum(y1, given[1]))
            inter = w * h
            area = tf.nn.relu(x2 - x1) * tf.nn.relu(y2 - y1)
            union = area + max(0.0, given[2] - given[0]) * max(0.0, given[3] - given[1]) - inter
            return o[:, a, 4 + k] * inter / tf.maximum(union, 1e-9)
        return resolved, score, margins
    if kind == 'embedding':
        c = tf.constant(concept[None])
        cnorm = float(np.linalg.norm(concept))

        def score(o):
            return tf.reduce_sum(o * c, axis=1) / tf.maximum(tf.norm(o, axis=1) * cnorm, 1e-12)
        return {'classIndex': -1}, score, []
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------
# References

class Probe:
    """Records a layer's output on each call and, when `keep` is set, multiplies it by `keep`
    first (Ablation-CAM's zeroed channels). The layer's call is wrapped in place."""

    def __init__(self, layer):
        self.layer, self.keep, self.value = layer, None, None
        self.original = layer.call

        def call(*args, **kwargs):
            out = self.original(*args, **kwargs)
            if self.keep is not None:
                out = out * self.keep
            self.value = out
            return out
        layer.call = call

    def remove(self):
        self.layer.call = self.original


def remove_final_activations(model):
    """Every output layer's softmax / sigmoid -> linear: the model then returns the scored values."""
    for layer in map(model.get_layer, model.output_names):
        name = getattr(getattr(layer, 'activation', None), '__name__', 'linear')
        if name in ('softmax', 'sigmoid'):
            layer.activation = keras.activations.linear


def outputs_of(model, x):
    out = model(x, training=False)
    return dict(zip(model.output_names, out if isinstance(out, (list, tuple)) else [out]))


def to_grid(a, tokens):
    """A [B,h,w,K] (4-D) or a token sequence [B,T,D] laid on its grid after the extra tokens."""
    if tokens is None:
        return a
    return tf.reshape(a[:, tokens['extra']:], [-1, tokens['height'], tokens['width'], a.shape[-1]])


def case_references(model, c, x, concept):
    """Grad-CAM and Ablation-CAM at c's layer, each image alone (targets resolved per image)."""
    probe = Probe(model.get_layer(c['layer']))
    per_image = []
    try:
        for i in range(len(x)):
            xi = tf.constant(x[i:i + 1])
            z = outputs_of(model, xi)[c['output']].numpy()[0]
            resolved, score, margins = resolve(c['target'], z, concept)
            with tf.GradientTape() as tape:
                y = score(outputs_of(model, xi)[c['output']])[0]
            grad = tape.gradient(y, probe.value)
            A = to_grid(probe.value, c['tokens'])[0].numpy()
            g = to_grid(grad, c['tokens'])[0].numpy()
            alpha = g.mean(axis=(0, 1))
            K = A.shape[-1]
            # Ablation: K copies of the image, copy k with channel k of A zeroed (extra tokens kept).
            keep = 1 - np.eye(K, dtype=np.float32)
            if c['tokens'] is None:
                probe.keep = tf.constant(keep[:, None, None, :])
            else:
                T = c['tokens']['extra'] + c['tokens']['height'] * c['tokens']['width']
                mask = np.ones((K, T, K), np.float32)
                mask[:, c['tokens']['extra']:, :] = keep[:, None, :]
                probe.keep = tf.constant(mask)
            ablated = score(outputs_of(model, tf.repeat(xi, K, axis=0))[c['output']]).numpy()
            probe.keep = None
            y = float(y.numpy())
            ablation = (y - ablated) / y
            per_image.append({
                'resolved': dict(resolved, score=y), 'margins': margins, 'output': z,
                'A': A, 'alphas': alpha, 'maps': np.maximum((A * alpha).sum(-1), 0),
                'ablationAlphas': ablation.astype(np.float32), 'ablationMaps': np.maximum((A * ablation).sum(-1), 0),
            })
    finally:
        probe.remove()
    return per_image


def guided_gradients(model, c, x, per_image, concept, channels_first):
    """dy/dinput with guided ReLUs (the model already made guided), channels last."""
    out = []
    for i in range(len(x)):
        xi = tf.constant(x[i:i + 1])
        # the target as resolved without the guided swap (the forward pass is the same)
        target = resolved_target(c['target'], per_image[i]['resolved'])
        _, score, _ = resolve(target, per_image[i]['output'], concept)
        with tf.GradientTape() as tape:
            tape.watch(xi)
            y = score(outputs_of(model, xi)[c['output']])[0]
        g = tape.gradient(y, xi)[0].numpy()
        out.append(g.transpose(1, 2, 0) if channels_first else g)
    return np.stack(out)


def resolved_target(target, resolved):
    t = dict(target)
    if t['kind'] in ('class-logit',):
        t['class'] = resolved['classIndex']
    elif t['kind'] == 'sigmoid-label':
        t['label'] = resolved['classIndex']
    elif t['kind'] == 'segmentation':
        t['class'] = resolved['classIndex']
    elif t['kind'] == 'detection':
        t['anchor'], t['class'] = resolved['anchor'], resolved['classIndex']
    return t


# ---------------------------------------------------------------------------------------------
# Conversion

def h5_to_graph(h5, out, metadata):
    _, converter = kf.import_tensorflowjs()
    with keras.utils.custom_object_scope(CUSTOM_OBJECTS):
        converter.dispatch_keras_h5_to_tfjs_graph_model_conversion(h5, out, metadata=metadata or None)


def convert(model, folder, formats, class_names, onednn=True):
    """layers/ and/or graph/, written to a temp folder first, then moved. onednn=False converts the
    graph in a child process with TensorFlow's oneDNN optimisations off (read once, at start)."""
    tfjs, _ = kf.import_tensorflowjs()
    metadata = {'classNames': class_names} if class_names else {}
    with tempfile.TemporaryDirectory() as tmp:
        if 'layers' in formats:
            tfjs.converters.save_keras_model(model, os.path.join(tmp, 'layers'), metadata=metadata or None)
        if 'graph' in formats:
            h5 = os.path.join(tmp, 'model.h5')
            model.save(h5, save_format='h5')
            if onednn:
                h5_to_graph(h5, os.path.join(tmp, 'graph'), metadata)
            else:
                subprocess.run([sys.executable, os.path.abspath(__file__), '--h5-to-graph', h5, os.path.join(tmp, 'graph'), json.dumps(metadata)],
                               check=True, env=dict(os.environ, TF_ENABLE_ONEDNN_OPTS='0'))
        for name in ('layers', 'graph'):
            dest = os.path.join(folder, name)
            shutil.rmtree(dest, ignore_errors=True)
            if name in formats:
                shutil.move(os.path.join(tmp, name), dest)


def graph_node_of(graph_dir, layer):
    """The node that carries the layer's output: the one of its nodes that a node outside it reads."""
    with open(os.path.join(graph_dir, 'model.json')) as f:
        nodes = [n for n in json.load(f)['modelTopology']['node'] if n['op'] != 'Const']
    inside = lambda name: f'/{layer}/' in name  # noqa: E731
    read = {i.lstrip('^').split(':')[0] for n in nodes if not inside(n['name']) for i in n.get('input', [])}
    found = [n['name'] for n in nodes if inside(n['name']) and n['name'] in read]
    assert len(found) == 1, f'layer {layer}: nodes read from outside {found}'
    return found[0]


def graph_outputs(graph_dir):
    with open(os.path.join(graph_dir, 'model.json')) as f:
        signature = json.load(f).get('signature', {})
    return {k: v.get('name') for k, v in signature.get('outputs', {}).items()}


# ---------------------------------------------------------------------------------------------

write_fixture = kf.write_arrays  # reference.json + reference.bin, as the classifier fixtures


def build_fixture(name):
    model, spec = BUILDERS[name]()
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    convert(model, folder, spec['formats'], spec['classNames'], spec.pop('oneDNN', True))  # with its softmax / sigmoid: as deployed
    channels_first = spec.get('channelsFirst', False)
    model_shape = list(model.input_shape[1:])
    shape = model_shape[1:] + model_shape[:1] if channels_first else model_shape  # [H,W,C]
    images = fixture_images(name, shape)
    concept = None
    if name == 'embedding':
        third = model(tf.constant(images[2:3].astype(np.float32)), training=False).numpy()[0]
        direction = np.random.default_rng(2101).normal(0, 1, third.shape)
        concept = (third / np.linalg.norm(third) + direction / np.linalg.norm(direction)).astype(np.float32)
        images = images[:2]
    pixels = images
    x = pixels.astype(np.float32)
    if channels_first:
        x = x.transpose(0, 3, 1, 2)

    remove_final_activations(model)
    if name == 'detector':  # the IoU case: image 0's best detection, and a box overlapping it
        z = model(tf.constant(x[:1]), training=False).numpy()[0]
        a, k = np.unravel_index(int(z[:, 4:].argmax()), z[:, 4:].shape)
        x1, y1, x2, y2 = (float(v) for v in z[a, :4])
        box = [round(x1 + 0.3 * (x2 - x1), 3), round(y1 - 0.2, 3), round(x2 + 0.2, 3), round(y2 - 0.25 * (y2 - y1), 3)]
        spec['cases'][1]['target'].update(anchor=int(a), **{'class': int(k)}, box=box)

    arrays = {'pixels': pixels}
    if concept is not None:
        arrays['concept'] = concept
    cases = []
    for ci, c in enumerate(spec['cases']):
        per_image = case_references(model, c, x, concept)
        for i, p in enumerate(per_image):
            assert all(m > MIN_MARGIN for m in p['margins']), f'{name} case {ci} image {i}: argmax margin {p["margins"]}; change the seed'
            assert abs(p['resolved']['score']) > 1e-2, f'{name} case {ci} image {i}: y = {p["resolved"]["score"]} is too near 0 for Ablation-CAM'
        for key in ('output', 'A', 'alphas', 'maps', 'ablationAlphas', 'ablationMaps'):
            arrays[f'case{ci}.{key}'] = np.stack([p[key] for p in per_image])
        cases.append(dict(c, layerShape=list(per_image[0]['A'].shape), resolved=[p['resolved'] for p in per_image],
                          minMargin=min([m for p in per_image for m in p['margins']], default=None)))
    swapped = kf.make_guided(model)
    for ci, c in enumerate(spec['cases']):
        per_image = [{'resolved': r, 'output': o} for r, o in zip(cases[ci]['resolved'], arrays[f'case{ci}.output'])]
        arrays[f'case{ci}.guided'] = guided_gradients(model, c, x, per_image, concept, channels_first)
    if 'graph' in spec['formats']:
        graph_dir = os.path.join(folder, 'graph')
        for c in cases:
            c['graphNode'] = graph_node_of(graph_dir, c['layer'])
        graph_out = graph_outputs(graph_dir)
    else:
        graph_out = None
    info = {k: v for k, v in spec.items() if k != 'cases'}
    info.update({
        'name': name, 'model': model.name, 'inputShape': shape, 'modelInputShape': model_shape, 'inputRange': '0-255',
        'outputs': [{'name': n, 'shape': list(t.shape[1:])} for n, t in zip(model.output_names, model.outputs)],
        'graphSignatureOutputs': graph_out, 'guidedReLUs': swapped, 'cases': cases,
        'tensorflow': tf.__version__, 'keras': keras.__version__,
    })
    write_fixture(folder, info, arrays)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)
    summary = '; '.join(f"{c['layer']} {c['layerShape']} -> {[r['classIndex'] for r in c['resolved']]} (margin {c['minMargin']})" for c in cases)
    print(f'{name}: {summary}; {swapped} guided ReLUs; {size / 1e3:.0f} KB', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', nargs='*', choices=list(BUILDERS), help='fixtures to rebuild (default: all)')
    parser.add_argument('--h5-to-graph', nargs=3, metavar=('H5', 'OUT', 'METADATA'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.h5_to_graph:
        h5, out, metadata = args.h5_to_graph
        return h5_to_graph(h5, out, json.loads(metadata))
    for name in args.only or list(BUILDERS):
        build_fixture(name)


if __name__ == '__main__':
    main()
