/**
 * Which OpenBLAS kernels the native addon gets. OpenBLAS picks its kernels (DYNAMIC_ARCH) from the
 * CPU model when it loads, and a build older than the CPU falls back to its most generic x86-64
 * kernels: Debian 12's OpenBLAS 0.3.21 runs SSE3 "Prescott" kernels on Intel Xeons of 2023 and later
 * (family 6, model 207 here), 3-4x slower SGEMM than its AVX-512 "SkylakeX" kernels on the same core
 * (bench/profile.ts). OPENBLAS_CORETYPE, read once when the library loads, overrides the choice; we
 * set it from the CPU's features, and only where OpenBLAS's own choice could be the fallback.
 */
import * as fs from 'fs';

export const CORETYPE_ENV = 'OPENBLAS_CORETYPE';

/**
 * The coretype for a Linux /proc/cpuinfo text, or undefined to let OpenBLAS decide: Intel CPUs
 * with AVX-512 (F, BW, DQ, VL) take SkylakeX, those with AVX2 + FMA Haswell, the kernels OpenBLAS
 * would pick for any Intel CPU it knows with those features. Other vendors keep their own kernels.
 */
export function coretypeFor(cpuinfo: string): string | undefined {
  const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(cpuinfo)?.[1];
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '').split(/\s+/));
  if (vendor !== 'GenuineIntel') return undefined;
  if (['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f))) return 'SkylakeX';
  if (flags.has('avx2') && flags.has('fma')) return 'Haswell';
  return undefined;
}

/** Sets OPENBLAS_CORETYPE before the addon loads OpenBLAS, unless the user set it. Returns it. */
export function chooseOpenBlasCore(): string | undefined {
  if (process.env[CORETYPE_ENV]) return process.env[CORETYPE_ENV];
  let cpuinfo = '';
  try {
    cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined; // not Linux: OpenBLAS decides
  }
  const core = coretypeFor(cpuinfo);
  if (core) process.env[CORETYPE_ENV] = core;
  return core;
}
