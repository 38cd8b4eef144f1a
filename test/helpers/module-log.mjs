// `node --import` this to append the URL of every ES module the process resolves to the file
// named by CAPFLOW_MODULE_LOG (tests of what a command loads at start-up).
import { register } from 'node:module';

register(new URL('./module-log-hooks.mjs', import.meta.url));
