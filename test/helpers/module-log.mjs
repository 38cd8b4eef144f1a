// `node --import` this to append the URL of every ES module the process resolves, and the path of
// every CommonJS module it requires (yaml is loaded with createRequire), to the file named by
// CAPFLOW_MODULE_LOG (tests of what a command loads at start-up).
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

register(new URL('./module-log-hooks.mjs', import.meta.url));

const load = Module._load;
Module._load = function (request, parent, isMain) {
  const loaded = load.call(this, request, parent, isMain);
  if (process.env.CAPFLOW_MODULE_LOG && !request.startsWith('node:')) {
    try {
      appendFileSync(process.env.CAPFLOW_MODULE_LOG, `${Module._resolveFilename(request, parent, isMain)}\n`);
    } catch {
      // a built-in without the node: prefix
    }
  }
  return loaded;
};
