// `node --import` this to count, per thread, how files were read and written, and append the
// counts as one JSON line to the file named by CAPFLOW_IO_LOG at exit: synchronous calls on the
// thread itself (fs.readSync, fs.writeSync) against reads and writes handed to libuv's thread
// pool (FileHandle read, write, writev), and the file handles opened and not closed by exit
// (`unclosed`). Tests that a command does its file I/O the way it says and releases every file.
import fs, { appendFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const counts = { thread: isMainThread ? 'main' : 'worker', readSync: 0, writeSync: 0, poolRead: 0, poolWrite: 0, unclosed: 0 };
const wrap = (obj, name, key, counted = () => true) => {
  const original = obj[name];
  obj[name] = function (...args) {
    if (counted(args)) counts[key]++;
    return original.apply(this, args);
  };
};
// The binary's code caches (cli/code-cache.ts) are read as its chunks are, while it loads: not a
// command's file I/O.
const codeCacheFds = new Set();
const openSync = fs.openSync;
fs.openSync = function (path, ...rest) {
  const fd = openSync.call(this, path, ...rest);
  if (String(path).endsWith('.v8cache')) codeCacheFds.add(fd);
  return fd;
};
const closeSync = fs.closeSync;
fs.closeSync = function (fd, ...rest) {
  codeCacheFds.delete(fd);
  return closeSync.call(this, fd, ...rest);
};
// Files only: not capflow's messages to fd 2 or a summary on fd 1.
const onFile = (args) => typeof args[0] === 'number' && args[0] > 2 && !codeCacheFds.has(args[0]);
wrap(fs, 'readSync', 'readSync', onFile);
wrap(fs, 'writeSync', 'writeSync', onFile);
const probe = await fs.promises.open(process.execPath, 'r');
const FileHandle = Object.getPrototypeOf(probe);
await probe.close();
const open = fs.promises.open;
fs.promises.open = async function (...args) {
  const fh = await open.apply(this, args);
  counts.unclosed++;
  // close is each handle's own property (not on FileHandle's prototype).
  const close = fh.close;
  let closed = false;
  fh.close = function (...a) {
    if (!closed) {
      closed = true;
      counts.unclosed--;
    }
    return close.apply(this, a);
  };
  return fh;
};
// Named imports of node:fs and node:fs/promises (ES modules) see the wrapped functions too.
syncBuiltinESMExports();
wrap(FileHandle, 'read', 'poolRead');
wrap(FileHandle, 'write', 'poolWrite');
wrap(FileHandle, 'writev', 'poolWrite');
process.on('exit', () => appendFileSync(process.env.CAPFLOW_IO_LOG, `${JSON.stringify(counts)}\n`));
