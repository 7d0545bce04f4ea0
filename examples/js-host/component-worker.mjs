// The component worker: runs the transpiled component (one Airbyte command)
// on its own thread, so that the main thread (./host.mjs) stays free to stop
// it: at the CPU deadline, on SIGTERM/SIGINT.
//
// It gives the component its imports: `http` (./http-client.mjs: the main
// thread does the requests while this thread waits in Atomics.wait), `sink`
// (writes stdout itself, one batch at a time under the stdout lock it shares
// with the main thread), WASI from preview2-shim. It keeps the account the
// main thread's CPU deadline needs: when the current call started, and how
// long the call has waited inside the host's imports (HTTP, stdout, stderr,
// sleeps and polls). The component's memories get a maximum (./memory-cap.mjs).
// Under the allow-list it puts what `--record`, `--replay` and `--debug` ask
// for (./recording.mjs); `--record` first runs the component's `spec`, its
// output kept, to know which properties of the config are secrets.
//
// It ends by posting `{exit: status}`; a TRACE ERROR it had to print is on
// stdout by then.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hrtime } from 'node:process';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { Http } from './http-client.mjs';
import { capMemories } from './memory-cap.mjs';
import { originOf } from './policy.mjs';
import { HostFailure, debugging, recorder, replayer, secretsOf, startRecording } from './recording.mjs';
import {
  CALL_START, FREE, IMPORT_START, IMPORT_TOTAL, LOCK, MIB, WORKER,
  memoryLimitMessage, traceError, writeAll,
} from './shared.mjs';

const PACKAGE = 'airbyte:connector';
const VERSION = '0.5.0';
// The WASI interfaces this host grants (from preview2-shim), by package.
const GRANTED_WASI = new Set(['wasi:cli', 'wasi:clocks', 'wasi:io', 'wasi:random', 'wasi:filesystem']);

const { dir, names, control, options, command, inputs, channel } = workerData;
const ctl32 = new Int32Array(control);
const ctl64 = new BigInt64Array(control);
const capBytes = options.maxMemoryMib * MIB;

// --- the time spent waiting in imports (not counted by the CPU deadline) ----

let depth = 0;

/** `fn` as an import whose time is waiting, not computing. */
function waiting(fn) {
  return function timed(...args) {
    if (depth++ === 0) Atomics.store(ctl64, IMPORT_START, hrtime.bigint());
    try {
      return fn.apply(this, args);
    } finally {
      if (--depth === 0) {
        // Add first, then clear: the main thread may briefly see the wait
        // twice (and under-count), never not at all.
        Atomics.add(ctl64, IMPORT_TOTAL, hrtime.bigint() - Atomics.load(ctl64, IMPORT_START));
        Atomics.store(ctl64, IMPORT_START, 0n);
      }
    }
  };
}

// --- stdout ---------------------------------------------------------------

/** Writes one batch of lines to stdout whole, holding the stdout lock. */
function writeBatch(bytes) {
  // MAIN holds it only when the host is stopping: then wait to be terminated.
  while (Atomics.compareExchange(ctl32, LOCK, FREE, WORKER) !== FREE) Atomics.wait(ctl32, LOCK, ctl32[LOCK]);
  try {
    writeAll(1, bytes);
  } finally {
    Atomics.store(ctl32, LOCK, FREE);
    Atomics.notify(ctl32, LOCK);
  }
}

// The lines `sink.emit` is given while the host keeps them (its own `spec` call), else undefined.
let kept;

/** `sink.emit`: a batch of JSON messages, one per line, written at once (a batch ends where a runner may act; `end` says with what, unused here). */
function emit(lines, _end) {
  const batch = lines.endsWith('\n') ? lines : `${lines}\n`;
  if (kept !== undefined) kept.push(batch);
  else writeBatch(Buffer.from(batch));
}

/** One line to stdout, whole, under the stdout lock. */
const writeMessage = (line) => writeBatch(Buffer.from(`${line}\n`));

// --- stderr: written here, synchronously; watched for the allocator's last words

let stderrTail = '';
let allocationFailed = false;

function writeStderr(buf) {
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  // A Rust guest whose memory.grow is refused prints this, in pieces, then aborts.
  stderrTail = (stderrTail + bytes.toString('latin1')).slice(-256);
  if (/memory allocation of \d+ bytes failed/.test(stderrTail)) allocationFailed = true;
  writeAll(2, bytes);
}

// --- the imports ----------------------------------------------------------

class ComponentExit extends Error {}

/** The WASI imports: preview2-shim's, without environment, arguments or preopened directories. */
async function wasiImports() {
  const shim = await import('@bytecodealliance/preview2-shim');
  // Sleeps and polls wait: not computing.
  const { Pollable } = shim.io.poll;
  Pollable.prototype.block = waiting(Pollable.prototype.block);
  const poll = { ...shim.io.poll, poll: waiting(shim.io.poll.poll) };
  // stderr is written synchronously from this thread (a worker's process.stderr
  // would hand it to the main thread, and lose it if the worker is stopped).
  const stderr = shim.cli.stderr.getStderr();
  const { OutputStream } = shim.io.streams;
  const blockingWriteAndFlush = OutputStream.prototype.blockingWriteAndFlush;
  OutputStream.prototype.blockingWriteAndFlush = waiting(function write(buf) {
    if (this === stderr) return writeStderr(buf);
    return blockingWriteAndFlush.call(this, buf);
  });
  const imports = {};
  for (const name of names) {
    const [pkg, iface] = name.split('@')[0].split('/');
    if (pkg === PACKAGE) continue;
    if (!GRANTED_WASI.has(pkg)) throw new Error(`the component imports ${name}, which this host does not grant`);
    const camel = iface.replace(/-(\w)/g, (_, c) => c.toUpperCase());
    imports[`${pkg}/${iface}`] = shim[pkg.split(':')[1]][camel];
  }
  imports['wasi:io/poll'] = poll;
  imports['wasi:cli/environment'] = { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined };
  imports['wasi:filesystem/preopens'] = { getDirectories: () => [] };
  imports['wasi:cli/exit'] = {
    exit(status) {
      throw new ComponentExit(`it called exit (${status?.tag === 'err' ? 'failure' : 'success'}) before returning`);
    },
    exitWithCode(code) {
      throw new ComponentExit(`it called exit(${code}) before returning`);
    },
  };
  return imports;
}

// The component's memories, as its core instances export them.
const memories = new Set();

async function instantiate(http) {
  const imports = {
    ...(await wasiImports()),
    [`${PACKAGE}/http`]: { send: waiting((r) => http.send(r)), sendAll: waiting((rs) => http.sendAll(rs)) },
    [`${PACKAGE}/sink`]: { emit: waiting(emit) },
  };
  const { instantiate: make } = await import(pathToFileURL(join(dir, 'component.js')).href);
  let tooBig = 0;
  const getCoreModule = (file) => {
    const { bytes, minBytes } = capMemories(readFileSync(join(dir, file)), capBytes);
    tooBig = Math.max(tooBig, minBytes > capBytes ? minBytes : 0);
    return WebAssembly.compile(bytes);
  };
  const instantiateCore = async (module, coreImports) => {
    if (tooBig) throw new MemoryLimit();
    const instance = await WebAssembly.instantiate(module, coreImports);
    for (const value of Object.values(instance.exports)) {
      if (value instanceof WebAssembly.Memory) memories.add(value);
    }
    return instance;
  };
  const exports = await make(getCoreModule, imports, instantiateCore);
  const source = exports[`${PACKAGE}/source@${VERSION}`] ?? exports.source;
  if (!source) throw new Error(`the component does not export ${PACKAGE}/source@${VERSION}`);
  return source;
}

class MemoryLimit extends Error {}

/** Whether the component's failure was its memory running into the cap. */
function hitMemoryLimit() {
  if (allocationFailed) return true;
  let total = 0;
  for (const memory of memories) total += memory.buffer.byteLength;
  return total + 64 * 1024 > capBytes;
}

/** Calls an export returning `result<T, string>`: `{ok}` or `{err}` (jco throws the err payload). */
function call(fn, ...args) {
  Atomics.store(ctl64, IMPORT_TOTAL, 0n);
  Atomics.store(ctl64, CALL_START, hrtime.bigint());
  allocationFailed = false;
  try {
    return { ok: fn(...args) };
  } catch (error) {
    if (error && Object.prototype.hasOwnProperty.call(error, 'payload') && typeof error.payload === 'string') {
      return { err: error.payload };
    }
    throw error;
  } finally {
    Atomics.store(ctl64, CALL_START, 0n);
  }
}

/** The config's secrets, as the component's spec marks them: `spec` called with its output kept. */
function secrets(source, config) {
  kept = [];
  try {
    call(source.spec);
    return secretsOf(config, kept.join(''));
  } finally {
    kept = undefined;
  }
}

/**
 * The transport under the allow-list: the network, the network recorded, or
 * a recording; with a DEBUG LOG for each exchange on top. A HostFailure when
 * the recording cannot be started or read.
 */
function exchanges(source, network, { config, catalog, state }) {
  let transport = network;
  if (options.replay !== undefined) {
    transport = replayer(options.replay);
  } else if (options.record !== undefined) {
    const found = secrets(source, config);
    transport = recorder(network, found, startRecording(options.record, found, { config, catalog, state }));
  }
  return options.debug ? debugging(transport, writeMessage) : transport;
}

/** The command's exit status; a failure has its TRACE ERROR on stdout. */
async function run() {
  // The input files' bytes (checked UTF-8, moved here from the main thread), decoded once and let go.
  const text = (key) => {
    const bytes = inputs[key];
    inputs[key] = undefined;
    return bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  };
  const config = text('config');
  const catalog = text('catalog');
  const state = text('state');
  const http = new Http({
    policy: { allowPrivate: options.allowPrivateNetwork, allowPlainHttp: options.allowPlainHttp },
    timeoutMs: options.timeoutSecs * 1000, maxBytes: options.maxResponseBytes, concurrency: options.concurrency,
    channel, // the main thread sends the requests
  });
  let stage = 'could not be loaded'; // what the TRACE ERROR says, as the Rust host
  try {
    const source = await instantiate(http);
    stage = 'failed';
    http.exchange = exchanges(source, http.exchange, { config, catalog, state });
    if (config !== undefined) {
      let declared = [];
      if (!options.allowHost.length) {
        // ok is a list of origins; err (the config is unusable) leaves the list
        // empty, and the command itself reports why.
        stage = 'failed';
        declared = call(source.allowedOrigins, config).ok ?? [];
        stage = 'misbehaved'; // a malformed origin
        declared = declared.map((origin) => originOf(origin, { bare: true }));
      }
      http.allowed = new Set([...declared, ...options.allowHost, ...options.alsoAllow]);
    }
    stage = 'failed';
    let result;
    if (command === 'spec') result = call(source.spec);
    else if (command === 'check') result = call(source.check, config);
    else if (command === 'discover') result = call(source.discover, config);
    else result = call(source.read, config, catalog, state);
    // result<_, string>: an err already emitted its TRACE ERROR.
    return 'err' in result ? 1 : 0;
  } catch (error) {
    if (error?.code === 'EPIPE') return 1; // stdout is gone
    let message;
    if (error instanceof HostFailure) {
      message = error.message;
    } else if (error instanceof MemoryLimit || (stage !== 'could not be loaded' && hitMemoryLimit())) {
      message = memoryLimitMessage(options.maxMemoryMib);
    } else {
      const detail = error instanceof Error ? error.message : String(error);
      if (error instanceof WebAssembly.RuntimeError) stage = 'trapped';
      message = `the connector component ${stage}: ${detail}`;
    }
    try {
      writeAll(2, Buffer.from(`host.mjs: ${message}\n`));
      writeBatch(Buffer.from(`${traceError(message)}\n`));
    } catch {
      // stdout is gone
    }
    return 1;
  }
}

parentPort.postMessage({ exit: await run() });
