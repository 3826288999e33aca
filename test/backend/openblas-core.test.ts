import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { coretypeFor } from '../../src/backend/openblas-core';
import { loadNative } from '../../src/backend/native';

const cpuinfo = (vendor: string, flags: string) => `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: 6\nmodel\t\t: 207\nflags\t\t: ${flags}\n`;

describe('OpenBLAS kernels for the native addon', () => {
  it('takes AVX-512 kernels on an Intel CPU with AVX-512 F/BW/DQ/VL, AVX2 ones with AVX2 + FMA only', () => {
    expect(coretypeFor(cpuinfo('GenuineIntel', 'fpu sse3 fma avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16'))).to.equal('SkylakeX');
    expect(coretypeFor(cpuinfo('GenuineIntel', 'fpu sse3 fma avx2 avx512f'))).to.equal('Haswell'); // AVX-512 incomplete
    expect(coretypeFor(cpuinfo('GenuineIntel', 'fpu sse3 avx2'))).to.equal(undefined); // no FMA
  });

  it('leaves other vendors to OpenBLAS, which knows their kernels by family', () => {
    expect(coretypeFor(cpuinfo('AuthenticAMD', 'fma avx2 avx512f avx512dq avx512bw avx512vl'))).to.equal(undefined);
    expect(coretypeFor('')).to.equal(undefined);
  });

  it('sets the core before the addon loads, and a user\'s OPENBLAS_CORETYPE wins', function () {
    if (!loadNative().loaded) this.skip();
    const probe = `require('tsx/cjs'); const n = require(${JSON.stringify(path.resolve(__dirname, '../../src/backend/native.ts'))}); const s = n.loadNative(); console.log(s.loaded ? s.blas : s.reason)`;
    const blas = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env }).stdout.trim();
    const unset = { ...process.env };
    delete unset.OPENBLAS_CORETYPE;
    const chosen = coretypeFor(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (chosen) expect(blas(unset)).to.contain(` ${chosen} `);
    expect(blas({ ...unset, OPENBLAS_CORETYPE: 'Haswell' })).to.contain(' Haswell ');
  });
});
