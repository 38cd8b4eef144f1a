// `node --import` this to append "stdout" / "stderr" to the file named by CAPFLOW_STDIO_LOG when
// the process creates that stream (Node creates process.stdout and process.stderr when first
// asked for them): tests that a short run does not pay for streams it does not use.
import { appendFileSync } from 'node:fs';

for (const name of ['stdout', 'stderr']) {
  const node = Object.getOwnPropertyDescriptor(process, name);
  let logged = false;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: node.enumerable,
    get() {
      if (!logged) {
        logged = true;
        appendFileSync(process.env.CAPFLOW_STDIO_LOG, `${name}\n`);
      }
      return node.get.call(process);
    },
  });
}
