// mocha's spec reporter plus one closing line in the plain 'N passed, N failed, N skipped' form
// that CI log readers recognise (mocha's own summary says "passing"/"failing").
const Mocha = require('mocha');

class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const s = runner.stats || {};
      process.stdout.write(`\nmocha: ${s.passes || 0} passed, ${s.failures || 0} failed, ${s.pending || 0} skipped\n`);
    });
  }
}

module.exports = SpecWithTotals;
