#!/usr/bin/env node
// Runs stigg.wasm, the Stigg Airbyte source component, on Node 20+ with jco.
//
// A third host for the contract the Rust `host` and examples/python-host run
// (wit/connector.wit, airbyte:connector@0.5.0), with the Rust host's flags,
// limits and messages (README.md says what differs, and why). jco transpiles
// the component to JavaScript + core wasm once (cached under
// node_modules/.cache/stigg-js-host/, keyed by the component's hash), unless
// it comes transpiled beside it (`<component>.transpiled/`, as a release ships it).
//
// Two threads:
// * this one (main): the command line, the input files, then it supervises:
//   the CPU deadline (a 10 ms timer; the component's time is the call's wall
//   time minus the time it waited in the host's imports), SIGTERM/SIGINT
//   (it stops the component with `worker.terminate()`); and it sends the
//   component's `airbyte:connector/http` requests (./http-send.mjs) while
//   the component worker waits in `Atomics.wait`;
// * the component worker (./component-worker.mjs): the component and its
//   imports; it writes stdout itself, a batch at a time, under a lock it
//   shares with this thread (so a stop never cuts a line).
//
// Usage (the Airbyte CLI, after the component's path; every flag may also
// come after the command, as `--name value` or `--name=value`):
//   node host.mjs STIGG_WASM spec
//   node host.mjs STIGG_WASM check    --config config.json
//   node host.mjs STIGG_WASM discover --config config.json
//   node host.mjs STIGG_WASM read     --config config.json --catalog catalog.json [--state state.json] [--concurrency N]
//   node host.mjs --allow-private-network STIGG_WASM check --config local.json   (a local test server)
//   node host.mjs STIGG_WASM read ... --record DIR        (every HTTP exchange into DIR, secrets masked)
//   node host.mjs STIGG_WASM read --config DIR/config.json --catalog DIR/catalog.json --replay DIR
//   node host.mjs STIGG_WASM read ... --debug             (a DEBUG LOG for each HTTP exchange)
//
// Exit status as `host run`: 0 when the command ran to the end (a check that
// reports FAILED included), 1 when it failed (a TRACE ERROR on stdout says
// why), 2 for usage errors, 128+N when stopped by signal N (143 SIGTERM, 130 SIGINT).

import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { dirname, join } from 'node:path';
import { hrtime } from 'node:process';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { senderOptions } from './http-client.mjs';
import { serveRequests } from './http-send.mjs';
import { Denied, firstInvalidUtf8, originOf } from './policy.mjs';
import {
  CALL_START, CONTROL_BYTES, FREE, IMPORT_START, IMPORT_TOTAL, LOCK, MAIN, MIB, WORKER,
  cpuDeadlineMessage, ioReason, traceError, writeAll, writeLine,
} from './shared.mjs';

export { Http } from './http-client.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGE = 'airbyte:connector';
// The version of wit/connector.wit this host implements; it runs components
// of the same minor version (0.x minors break).
const VERSION = '0.5.0';
const U64_MAX = (1n << 64n) - 1n;
const MAX_INPUT_BYTES = 64 * MIB;
// How long a stop waits for the batch being written to stdout.
const STOP_WAIT_MS = 5000;

class UsageError extends Error {}
class InputError extends Error {}

// --- command line ---------------------------------------------------------

const USAGE = `usage: node host.mjs [FLAGS] COMPONENT COMMAND [ARGS]
commands: spec | check --config F | discover --config F
          | read --config F --catalog F [--state F] [--concurrency N (1..16, default 2)]
flags (before the component or after the command; --name value or --name=value):
  --allow-host ORIGIN         allow only this origin (repeatable); replaces the component's list
  --also-allow ORIGIN         also allow this origin (repeatable)
  --allow-private-network     let requests reach loopback, private and other non-public addresses
  --allow-plain-http          let requests use plain http to addresses other than loopback
  --timeout-secs S            one HTTP request, connect to last body byte (integer >= 1, default 30)
  --max-response-bytes N      largest HTTP response body (integer >= 0, default 67108864)
  --max-memory-mib MIB        the component's linear memory (1..4096, default 256)
  --cpu-deadline-secs S       computing time of one call into the component (integer >= 1, default 300)
  --record DIR                record every HTTP exchange, and the config, catalog and state, into DIR,
                              with the config's secrets masked, to hand over or replay
  --replay DIR                answer every HTTP request from the recording in DIR: no network at all
                              (pass the recording's files: --config DIR/config.json --catalog DIR/catalog.json)
  --debug                     a DEBUG LOG for each HTTP exchange: the operation, its variables, the
                              status, the body's size and the time taken
exit status: 0 the command ran to the end, 1 after a TRACE ERROR, 2 usage error, 128+N signal N`;

const BOOLEANS = { '--allow-private-network': 'allowPrivateNetwork', '--allow-plain-http': 'allowPlainHttp', '--debug': 'debug' };
const REPEATED = { '--allow-host': 'allowHost', '--also-allow': 'alsoAllow' };
// name: [key, integer bounds (BigInt)], or [key, what it names] for a path
const SINGLE = {
  '--timeout-secs': ['timeoutSecs', 1n, U64_MAX],
  '--max-response-bytes': ['maxResponseBytes', 0n, U64_MAX],
  '--max-memory-mib': ['maxMemoryMib', 1n, 4096n],
  '--cpu-deadline-secs': ['cpuDeadlineSecs', 1n, U64_MAX],
  '--concurrency': ['concurrency', 1n, 16n],
  '--config': ['config'],
  '--catalog': ['catalog'],
  '--state': ['state'],
  '--record': ['record', 'a directory'],
  '--replay': ['replay', 'a directory'],
};
const DEFAULTS = { timeoutSecs: 30n, maxResponseBytes: 67108864n, maxMemoryMib: 256n, cpuDeadlineSecs: 300n, concurrency: 2n };
// The commands each command-specific flag belongs to.
const COMMAND_FLAGS = { config: ['check', 'discover', 'read'], catalog: ['read'], state: ['read'], concurrency: ['read'] };

/** The command line as `{...flags, component, command}`, or a UsageError (or `{help: true}`). */
export function parseArgs(argv) {
  const args = { allowPrivateNetwork: false, allowPlainHttp: false, debug: false, allowHost: [], alsoAllow: [] };
  const given = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') return { help: true };
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    let value = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (BOOLEANS[name]) {
      if (value !== undefined) throw new UsageError(`${name} takes no value`);
      args[BOOLEANS[name]] = true;
      continue;
    }
    if (!REPEATED[name] && !SINGLE[name]) throw new UsageError(`unknown option ${name}`);
    if (value === undefined) {
      if (i + 1 >= argv.length || (argv[i + 1].startsWith('--') && argv[i + 1].length > 2)) {
        throw new UsageError(`${name} needs a value`);
      }
      value = argv[++i];
    }
    if (REPEATED[name]) {
      args[REPEATED[name]].push(value);
      continue;
    }
    const [key, min, max] = SINGLE[name];
    if (key in given) throw new UsageError(`${name} was given more than once`);
    given[key] = name;
    if (typeof min !== 'bigint') {
      if (value === '') throw new UsageError(`${name} needs ${min ?? 'a file name'}`);
      args[key] = value;
      continue;
    }
    const range = max === U64_MAX ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
    if (!/^\d+$/.test(value) || BigInt(value) < min || BigInt(value) > max) {
      throw new UsageError(`${name} must be ${range}, not ${JSON.stringify(value)}`);
    }
    args[key] = BigInt(value);
  }
  for (const [key, value] of Object.entries(DEFAULTS)) if (args[key] === undefined) args[key] = value;
  // A run answered from a recording records nothing.
  if (args.record !== undefined && args.replay !== undefined) throw new UsageError('--record cannot be used with --replay');
  const [component, command, ...extra] = positional;
  if (!component || !command) throw new UsageError('a component path and a command are needed');
  const needs = { spec: [], check: ['config'], discover: ['config'], read: ['config', 'catalog'] }[command];
  if (!needs) throw new UsageError(`unknown command ${command}`);
  if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
  for (const key of needs) if (args[key] === undefined) throw new UsageError(`${command} needs --${key}`);
  for (const [key, commands] of Object.entries(COMMAND_FLAGS)) {
    if (key in given && !commands.includes(command)) throw new UsageError(`${given[key]} is not an option of ${command}`);
  }
  const number = (n) => Number(n > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : n);
  return {
    ...args,
    timeoutSecs: number(args.timeoutSecs),
    maxResponseBytes: String(args.maxResponseBytes), // u64: exact, as `too-large` reports it
    maxMemoryMib: number(args.maxMemoryMib),
    cpuDeadlineSecs: String(args.cpuDeadlineSecs),
    concurrency: number(args.concurrency),
    component,
    command,
  };
}

// --- input files ----------------------------------------------------------

/**
 * The bytes of an input file, checked: at most 64 MiB (the size is checked
 * before reading), strict UTF-8. Says which file and why it cannot be used,
 * never what is in it (the config holds a key).
 */
export function readInput(path, what) {
  const refuse = (reason) => new InputError(`Cannot read the ${what} file ${path}: ${reason}`);
  const tooLarge = 'larger than the host\'s limit of 64 MiB for an input file';
  let fd;
  let bytes;
  let size = 0;
  try {
    fd = openSync(path, 'r');
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw refuse('Is a directory');
    if (stat.size > MAX_INPUT_BYTES) throw refuse(tooLarge);
    // A regular file: its size; a pipe or a special file: grown as read, to the limit.
    bytes = Buffer.allocUnsafeSlow(Math.min(stat.size || 64 * 1024, MAX_INPUT_BYTES) + 1);
    for (;;) {
      if (size === bytes.length) {
        if (size > MAX_INPUT_BYTES) throw refuse(tooLarge);
        const bigger = Buffer.allocUnsafeSlow(Math.min(size * 2, MAX_INPUT_BYTES + 1));
        bytes.copy(bigger);
        bytes = bigger;
      }
      const n = readSync(fd, bytes, size, bytes.length - size, null);
      if (n === 0) break;
      size += n;
    }
    if (size > MAX_INPUT_BYTES) throw refuse(tooLarge);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw refuse(ioReason(error));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  bytes = bytes.subarray(0, size);
  if (!isUtf8(bytes)) throw refuse(`not UTF-8 text (invalid byte at offset ${firstInvalidUtf8(bytes)})`);
  return bytes;
}

// --- the component --------------------------------------------------------

/** The WIT of the component's imports and exports, e.g. `airbyte:connector/http@0.5.0`. */
function worldNames(wit) {
  return [...wit.matchAll(/^\s*(?:import|export)\s+([\w-]+:[\w-]+\/[\w-]+(?:@[\w.+-]+)?)\s*;/gm)].map((m) => m[1]);
}

/** Refuses a component built for another minor version of the contract, with the Rust host's message. */
export function checkContract(names) {
  const [major, minor] = VERSION.split('.');
  const series = `${major}.${minor}.x`;
  for (const name of names) {
    if (!name.startsWith(`${PACKAGE}/`)) continue;
    const version = name.split('@')[1];
    if (!version || !/^\d+\.\d+\.\d+$/.test(version)) {
      throw new Error(`the component uses ${name}, which names no version of ${PACKAGE}; this host runs ${PACKAGE}@${series} components`);
    }
    const [vMajor, vMinor] = version.split('.');
    if (vMajor !== major || vMinor !== minor) {
      throw new Error(`the component was built for ${PACKAGE}@${version} (it uses ${name}), but this host runs `
        + `${PACKAGE}@${series} components: use a host built for ${PACKAGE}@${version}, `
        + `or rebuild the component against ${PACKAGE}@${VERSION}`);
    }
  }
}

/** The component transpiled by jco: shipped beside it, from the cache, or made now: `{dir, names}`. */
async function transpiled(wasmPath) {
  let bytes;
  try {
    bytes = readFileSync(wasmPath);
  } catch (error) {
    throw new Error(`cannot read the component ${wasmPath}: ${error.code || error.message}`);
  }
  const shipped = `${wasmPath}.transpiled`;
  if (readIfExists(join(shipped, 'component.sha256')) === sha256(bytes)) return namesIn(shipped);
  const lock = readIfExists(join(HERE, 'package-lock.json')) ?? '';
  const key = createHash('sha256').update(`${lock}\0`).update(bytes).digest('hex').slice(0, 32);
  const dir = join(HERE, 'node_modules', '.cache', 'stigg-js-host', key);
  if (!existsSync(join(dir, 'names.json'))) {
    const tmp = `${dir}.${process.pid}`;
    await transpileInto(bytes, tmp);
    try {
      renameSync(tmp, dir);
    } catch { // another run made it first
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return namesIn(dir);
}

/** Transpiles a component into `dir` (JavaScript, core wasm, its WIT names and
 * its hash): what `transpiled` finds beside a component shipped with it. */
export async function transpileInto(bytes, dir) {
  const { transpile, componentWit } = await load('@bytecodealliance/jco');
  const names = worldNames(await componentWit(bytes));
  const { files } = await transpile(bytes, { name: 'component', instantiation: 'async', noTypescript: true, quiet: true });
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    if (!file.endsWith('.d.ts')) writeFileSync(join(dir, file), content);
  }
  writeFileSync(join(dir, 'names.json'), JSON.stringify(names));
  writeFileSync(join(dir, 'component.sha256'), sha256(bytes));
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const namesIn = (dir) => ({ dir, names: JSON.parse(readFileSync(join(dir, 'names.json'), 'utf8')) });

function readIfExists(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `import(name)` of an npm package, saying how to install it if it is missing. */
async function load(name) {
  try {
    return await import(name);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error(`${name} is not installed: run examples/js-host/install.sh`);
  }
}

// --- running it -------------------------------------------------------------

let stopping = false;

/** The host stops: the batch being written to stdout finishes (at most 5 s), then `message` as a TRACE ERROR. */
async function stop({ worker, control }, message, failureType, status) {
  if (stopping) return;
  stopping = true;
  let cut = false;
  if (control) {
    const ctl32 = new Int32Array(control);
    const until = Date.now() + STOP_WAIT_MS;
    while (Atomics.compareExchange(ctl32, LOCK, FREE, MAIN) !== FREE) {
      const left = until - Date.now();
      if (left <= 0) { // a reader that took nothing for 5 s: the line stays cut
        cut = true;
        break;
      }
      Atomics.wait(ctl32, LOCK, WORKER, left);
    }
  }
  if (worker) {
    await Promise.race([worker.terminate(), new Promise((done) => { setTimeout(done, 2000).unref(); })]);
  }
  try {
    writeAll(2, Buffer.from(`host.mjs: ${message}\n`));
    writeLine(`${cut ? '\n' : ''}${traceError(message, failureType)}`);
  } catch {
    // stdout is gone
  }
  process.exit(status);
}

const running = { worker: null, control: null };

/** Runs the command on the component worker; resolves to the exit status. */
function runComponent(args, dir, names, inputs) {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const ctl64 = new BigInt64Array(control);
  // The component's HTTP requests are sent from this thread (it only waits otherwise).
  const { port1, port2 } = new MessageChannel();
  const signal = new SharedArrayBuffer(4);
  serveRequests(port1, port1, signal, senderOptions({
    policy: { allowPrivate: args.allowPrivateNetwork, allowPlainHttp: args.allowPlainHttp },
    timeoutMs: args.timeoutSecs * 1000, maxBytes: args.maxResponseBytes,
  }));
  const transfer = [port2, ...Object.values(inputs).map((bytes) => bytes.buffer)];
  const worker = new Worker(new URL('./component-worker.mjs', import.meta.url), {
    workerData: { dir, names, control, options: args, command: args.command, inputs, channel: { port: port2, signal } },
    transferList: transfer,
    stdout: true, // the component's own WASI stdout, if it writes any: to stderr (stdout is for messages)
  });
  worker.stdout.pipe(process.stderr);
  running.worker = worker;
  running.control = control;

  // The CPU deadline: the current call's time minus its time inside the imports.
  const limit = BigInt(args.cpuDeadlineSecs) * 1_000_000_000n;
  const ticker = setInterval(() => {
    const start = Atomics.load(ctl64, CALL_START);
    if (start === 0n) return;
    const waited = Atomics.load(ctl64, IMPORT_TOTAL);
    const inImport = Atomics.load(ctl64, IMPORT_START);
    if (Atomics.load(ctl64, CALL_START) !== start) return; // a new call began meanwhile
    const now = hrtime.bigint();
    const used = now - start - waited - (inImport === 0n ? 0n : now - inImport);
    if (used > limit) {
      clearInterval(ticker);
      stop(running, cpuDeadlineMessage(args.cpuDeadlineSecs), 'system_error', 1);
    }
  }, 10);

  return new Promise((resolve) => {
    let done = false;
    worker.on('message', ({ exit }) => {
      done = true;
      clearInterval(ticker);
      resolve(exit);
    });
    worker.on('error', (error) => { // an exception nobody planned for, on the worker
      clearInterval(ticker);
      stop(running, `the JS host failed: ${error?.message ?? error}`, 'system_error', 1);
    });
    worker.on('exit', (code) => {
      if (done || stopping) return;
      clearInterval(ticker);
      stop(running, `the JS host failed: the component worker ended (status ${code}) before the command did`, 'system_error', 1);
    });
  });
}

async function main(argv) {
  let args;
  try {
    args = parseArgs(argv);
    if (args.help) {
      writeLine(USAGE);
      return 0;
    }
    args.allowHost = args.allowHost.map((origin) => originOf(origin, { bare: true }));
    args.alsoAllow = args.alsoAllow.map((origin) => originOf(origin, { bare: true }));
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof Denied)) throw error;
    writeAll(2, Buffer.from(`host.mjs: ${error.message}\n${USAGE}\n`));
    return 2;
  }
  const inputs = {};
  try {
    if (args.command !== 'spec') inputs.config = readInput(args.config, 'config');
    if (args.command === 'read') inputs.catalog = readInput(args.catalog, 'catalog');
    if (args.command === 'read' && args.state !== undefined) inputs.state = readInput(args.state, 'state');
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    if (args.command === 'check') { // as the Rust host: a FAILED status, not an error
      writeLine(JSON.stringify({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED', message: error.message } }));
      return 0;
    }
    writeLine(traceError(error.message, 'config_error'));
    return 1;
  }
  let component;
  try {
    component = await transpiled(args.component);
    checkContract(component.names);
  } catch (error) {
    const message = `the connector component could not be loaded: ${error?.message ?? error}`;
    writeAll(2, Buffer.from(`host.mjs: ${message}\n`));
    writeLine(traceError(message));
    return 1;
  }
  if (stopping) return new Promise(() => {}); // a signal came meanwhile: stop() ends the process
  return runComponent(args, component.dir, component.names, inputs);
}

/** Anything unexpected in the host: a TRACE ERROR, status 1, never a bare stack trace. */
function unexpected(error) {
  try {
    writeAll(2, Buffer.from(`host.mjs: unexpected error: ${error?.stack ?? error}\n`));
  } catch {
    // stderr is gone
  }
  if (error?.code === 'EPIPE') process.exit(1);
  stop(running, `the JS host failed: ${error?.message ?? error}`, 'system_error', 1);
}

/** Runs the host as this process: signals handled, anything unexpected a TRACE ERROR, then exits. */
export function runCli(argv) {
  process.on('uncaughtException', unexpected);
  for (const [signal, number] of [['SIGTERM', 15], ['SIGINT', 2]]) {
    process.on(signal, () => stop(running, `the host was stopped by ${signal} before the command finished`,
      'transient_error', 128 + number));
  }
  main(argv).then((status) => {
    if (!stopping) process.exit(status);
  }, unexpected);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) runCli(process.argv.slice(2));
