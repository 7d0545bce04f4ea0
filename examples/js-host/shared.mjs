// What the JS host's main thread (./host.mjs) and its component worker
// (./component-worker.mjs) share: the layout of their control block (a
// SharedArrayBuffer), the stdout lock, synchronous writes, TRACE messages,
// the words for a file error.

import { writeSync } from 'node:fs';

// The control block, in 32-bit words (Int32Array) and 64-bit ones (BigInt64Array).
export const CONTROL_BYTES = 64;
/** i32: who writes stdout. FREE, WORKER (a batch is being written) or MAIN (the host is stopping). */
export const LOCK = 0;
export const FREE = 0;
export const WORKER = 1;
export const MAIN = 2;
/** i64: process.hrtime.bigint() when the current call into the component started; 0 between calls. */
export const CALL_START = 1;
/** i64: when the component worker entered the import it is in now; 0 outside imports. */
export const IMPORT_START = 2;
/** i64: nanoseconds the current call spent inside the host's imports (waiting), finished ones. */
export const IMPORT_TOTAL = 3;

export const MIB = 1024 * 1024;

// How the Rust host says why a file cannot be used (its io::Error texts).
const REASONS = {
  ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory', ELOOP: 'Too many levels of symbolic links', ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files', EIO: 'Input/output error', ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system', EEXIST: 'File exists',
};

/** Why a file operation failed, in words (never the file's contents). */
export const ioReason = (error) => REASONS[error?.code] ?? (error?.code || error?.message || String(error));

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `bytes` to `fd`, synchronously, waiting while a non-blocking pipe is full. */
export function writeAll(fd, bytes) {
  let pause = 0.05; // ms
  for (let offset = 0; offset < bytes.length;) {
    try {
      offset += writeSync(fd, bytes, offset);
      pause = 0.05;
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      // A non-blocking pipe that is full: a reader usually drains it within
      // microseconds, so wait briefly, and longer only while it stays full.
      Atomics.wait(PAUSE, 0, 0, pause);
      pause = Math.min(pause * 2, 5);
    }
  }
}

/** One line, `text` plus a newline, to stdout. */
export function writeLine(text) {
  writeAll(1, Buffer.from(text.endsWith('\n') ? text : `${text}\n`));
}

export function traceError(message, failureType = 'system_error') {
  return JSON.stringify({
    type: 'TRACE',
    trace: {
      type: 'ERROR',
      emitted_at: Date.now(),
      error: { message, internal_message: message, failure_type: failureType },
    },
  });
}

/** The message of the memory limit, as the Rust host words it. */
export const memoryLimitMessage = (mib) => `the connector exceeded the memory limit of ${mib} MiB (--max-memory-mib)`;
/** The message of the CPU deadline, as the Rust host words it. */
export const cpuDeadlineMessage = (secs) =>
  `the connector exceeded the CPU deadline of ${secs} s for one call (--cpu-deadline-secs)`;
