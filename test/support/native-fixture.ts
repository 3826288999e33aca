/**
 * The native addon for tests that need it. Where it is not built they skip and say why; under
 * CI=true, whose `npm ci` builds it (.ci/system-deps installs libopenblas-dev), its absence is a
 * failure, so the native half of the suite cannot silently stop running.
 */
import { initBackend, registerNativeKernels, setNativeKernelsEnabled } from '../../src/backend';
import { loadNative, NativeAddon } from '../../src/backend/native';

export function nativeAddonOrSkip(ctx: Mocha.Context): NativeAddon {
  const native = loadNative();
  if (native.loaded) return native.addon;
  if (process.env.CI) throw new Error(`the native addon is missing in CI, where npm ci builds it: ${native.reason}`);
  console.log(`      (skipping the native path: ${native.reason})`);
  return ctx.skip();
}

/** The addon with its kernels registered and enabled on the wasm backend, which becomes the active one. */
export async function nativeWasmOrSkip(ctx: Mocha.Context): Promise<NativeAddon> {
  const addon = nativeAddonOrSkip(ctx);
  await initBackend({ backend: 'wasm', quiet: true });
  registerNativeKernels();
  setNativeKernelsEnabled(true);
  return addon;
}
