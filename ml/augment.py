"""Training-time augmentation that mimics what real input looks like after preprocessing.

Serving normalises every digit the MNIST way (20x20 box, centre of mass), so what is left
to learn is the variation preprocessing cannot remove: slant and rotation, aspect ratio,
a pixel or two of offset, stroke thickness (pens, brushes and fingers differ), and a
little blur and noise from cameras and JPEG.
"""
from __future__ import annotations

import math

import tensorflow as tf

MAX_ROTATION_DEGREES = 12.0
SCALE_RANGE = (0.85, 1.15)  # per axis, so the aspect ratio varies too
MAX_SHEAR = 0.15
MAX_SHIFT_PIXELS = 2.2


def random_affine(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Rotate, scale, shear and shift each image of (N, 28, 28, 1) in one resampling.

    Composing the four into one matrix matters: resampling four times in a row (as four
    separate Keras layers do) blurs the strokes far more than any real input is blurred.
    """
    n = tf.shape(x)[0]
    s = tf.random.experimental.stateless_split(seed, num=5)
    angle = tf.random.stateless_uniform([n], s[0], -1.0, 1.0) * (MAX_ROTATION_DEGREES * math.pi / 180)
    scale = tf.random.stateless_uniform([n, 2], s[1], *SCALE_RANGE)
    shear = tf.random.stateless_uniform([n], s[2], -MAX_SHEAR, MAX_SHEAR)
    shift = tf.random.stateless_uniform([n, 2], s[3], -MAX_SHIFT_PIXELS, MAX_SHIFT_PIXELS)
    cos, sin = tf.cos(angle), tf.sin(angle)
    sx, sy = scale[:, 0], scale[:, 1]
    # Forward map A = rotation @ shear @ scale; the transform op wants output -> input,
    # i.e. the inverse, taken about the image centre.
    a00, a01 = cos * sx, (cos * shear - sin) * sy
    a10, a11 = sin * sx, (sin * shear + cos) * sy
    det = a00 * a11 - a01 * a10
    m00, m01, m10, m11 = a11 / det, -a01 / det, -a10 / det, a00 / det
    cx = cy = 13.5
    ox, oy = cx + shift[:, 0], cy + shift[:, 1]
    zeros = tf.zeros_like(angle)
    transforms = tf.stack(
        [m00, m01, cx - m00 * ox - m01 * oy, m10, m11, cy - m10 * ox - m11 * oy, zeros, zeros],
        axis=1,
    )
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=transforms, output_shape=tf.shape(x)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )


def _chosen(p: float, n, seed) -> tf.Tensor:
    return tf.random.stateless_uniform([n, 1, 1, 1], seed=seed) < p


def augment_batch(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Geometry for every image; thicker or thinner strokes, blur and noise for a share."""
    n = tf.shape(x)[0]
    s = tf.random.experimental.stateless_split(seed, num=7)
    x = random_affine(x, s[6])
    thicker = tf.nn.max_pool2d(x, 2, 1, "SAME")
    thinner = -tf.nn.max_pool2d(-x, 2, 1, "SAME")
    x = tf.where(_chosen(0.2, n, s[0]), thicker, x)
    x = tf.where(_chosen(0.1, n, s[1]), thinner, x)
    blur_kernel = tf.constant([[1, 2, 1], [2, 4, 2], [1, 2, 1]], tf.float32) / 16.0
    blurred = tf.nn.depthwise_conv2d(x, blur_kernel[:, :, None, None], [1, 1, 1, 1], "SAME")
    x = tf.where(_chosen(0.1, n, s[2]), blurred, x)
    sigma = tf.random.stateless_uniform([n, 1, 1, 1], seed=s[3], maxval=12.0)
    noise = tf.random.stateless_normal(tf.shape(x), seed=s[4]) * sigma
    x = tf.where(_chosen(0.15, n, s[5]), x + noise, x)
    return tf.clip_by_value(x, 0.0, 255.0)
