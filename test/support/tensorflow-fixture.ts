/**
 * tfjs-node for tests that need it. It loads only with .ci/tfjs-node's overlay
 * (NODE_PATH="$(.ci/tfjs-node)":node_modules); without it these tests skip and say so, and with
 * GRADCAM_EXPECT_TENSORFLOW=1 (CI's tensorflow pass) its absence fails.
 */
export function tensorflowOrSkip(ctx: Mocha.Context): void {
  try {
    require('@tensorflow/tfjs-node');
  } catch (err) {
    const why = `@tensorflow/tfjs-node does not load (${(err as Error).message.split('\n')[0]}); build it with .ci/tfjs-node and run with NODE_PATH="$(.ci/tfjs-node)":node_modules`;
    if (process.env.GRADCAM_EXPECT_TENSORFLOW === '1') throw new Error(why);
    console.log(`      (skipping: ${why})`);
    ctx.skip();
  }
}
