/**
 * The gradcam-ts kernel against real Jupyter clients (the pinned .venv stack, driven from here so that
 * `npm test` runs them): jupyter_kernel_test's conformance suite, a jupyter_client front end for
 * comms and widgets, and `jupyter nbconvert --execute` saving widget state.
 */
import { expect } from 'chai';
import * as path from 'path';
import { runPython, useKernelWorld } from '../support/kernel-fixture';

describe('kernel with real Jupyter clients', function () {
  this.timeout(180_000);
  const world = useKernelWorld();

  it('passes jupyter_kernel_test conformance (execute, streams, errors, completion, inspection, is_complete, kernel_info, comm_info, display)', async () => {
    const r = await runPython(world(), 'kernel_conformance.py');
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.match(/^OK \(skipped=\d+\)$/m);
    // These must really run, not be skipped for lack of samples.
    for (const name of ['test_kernel_info', 'test_execute_stdout', 'test_execute_stderr', 'test_completion', 'test_inspect', 'test_is_complete', 'test_comm_info', 'test_error_reply_and_stderr', 'test_display_data']) {
      expect(r.out, r.out).to.match(new RegExp(`${name} \\(.*\\)(\\n.*)? \\.\\.\\. ok`));
    }
  });

  it('jupyter_client front end: comm with binary buffers both ways, widget updates both ways, parenting, bad input survived', async () => {
    const log = path.join(world().root, 'kernel-comm.log');
    const r = await runPython(world(), 'comm_driver.py', [log]);
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.include('ALL OK');
    expect((r.out.match(/^ok - /gm) ?? []).length, r.out).to.be.at.least(30);
  });

  it('nbconvert --execute of a widget notebook saves the widget state under metadata.widgets', async () => {
    const r = await runPython(world(), 'notebook_widget_state.py');
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.include('ALL OK');
  });
});
