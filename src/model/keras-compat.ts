/**
 * Keras topologies that tfjs-layers refuses as they are. Keras 2 writes kernel_initializer,
 * kernel_regularizer and kernel_constraint into every SeparableConv config (inherited from Conv,
 * unused by the layer), and tfjs-layers rejects a SeparableConv2D that has them ("Fields
 * kernelInitializer ... are invalid for SeparableConv2D"), so a converted Keras model with one
 * does not load. They are dropped here, in nested models too; nothing else is changed.
 */

type Json = { [key: string]: unknown };

const SEPARABLE = new Set(['SeparableConv1D', 'SeparableConv2D']);
const UNUSED_BY_SEPARABLE = ['kernel_initializer', 'kernel_regularizer', 'kernel_constraint'];

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A copy of a layer or model config with the fields above removed wherever they occur. */
function clean(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clean);
  if (!isObject(node)) return node;
  const out: Json = {};
  // defineProperty, not `out[k] =`: a "__proto__" key from the file must stay a plain key,
  // never become the copy's prototype (model.json is untrusted input).
  for (const [k, v] of Object.entries(node)) Object.defineProperty(out, k, { value: clean(v), enumerable: true, writable: true, configurable: true });
  if (SEPARABLE.has(out.class_name as string) && isObject(out.config)) {
    const config = { ...out.config };
    for (const field of UNUSED_BY_SEPARABLE) delete config[field];
    out.config = config;
  }
  return out;
}

/** The model topology of a tfjs layers model.json, made loadable by tfjs-layers. */
export function kerasTopologyForTfjs<T extends object>(topology: T): T {
  return clean(topology) as T;
}
