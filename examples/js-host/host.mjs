#!/usr/bin/env node
// Runs stigg.wasm, the Stigg Airbyte source component, on Node 20+ with jco.
//
// A third host for the contract the Rust `host` and examples/python-host run
// (wit/connector.wit, airbyte:connector@0.4.0). jco transpiles the component to
// JavaScript + core wasm once (cached under node_modules/.cache/stigg-js-host/,
// keyed by the component's hash); this file provides its imports:
//
// * `airbyte:connector/http`: `send` and `send-all` on a worker thread (./http-worker.mjs)
//   while this thread blocks in `Atomics.wait`, since the WIT functions are
//   synchronous; only to origins on the allow-list the component declares for
//   the config (`allowed-origins`), under the same network policy as the Rust host;
// * `airbyte:connector/sink`: each message on its own line on stdout;
// * WASI 0.2 from @bytecodealliance/preview2-shim: clocks, random, stderr; an
//   empty environment, no arguments, no preopened directories.
//
// Usage (the Airbyte CLI, after the component's path):
//   node host.mjs STIGG_WASM spec
//   node host.mjs STIGG_WASM check    --config config.json
//   node host.mjs STIGG_WASM discover --config config.json
//   node host.mjs STIGG_WASM read     --config config.json --catalog catalog.json [--state state.json] [--concurrency N]
//   node host.mjs --allow-private-network STIGG_WASM check --config local.json   (a local test server)
//
// Exit status as `host run`: 0 when the command ran to the end (a check that
// reports FAILED included), 1 when it failed (a TRACE ERROR on stdout says
// why), 2 for usage errors.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { Denied, originOf } from './policy.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGE = 'airbyte:connector';
// The version of wit/connector.wit this host implements; it runs components
// of the same minor version (0.x minors break).
const VERSION = '0.4.0';
const DEFAULT_TIMEOUT_SECS = 30;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const DEFAULT_CONCURRENCY = 2;
const POLICY_FLAGS = ['--allow-private-network', '--allow-plain-http'];
// The WASI interfaces this host grants (from preview2-shim), by package.
const GRANTED_WASI = new Set(['wasi:cli', 'wasi:clocks', 'wasi:io', 'wasi:random', 'wasi:filesystem']);

class UsageError extends Error {}
class InputError extends Error {}

// --- command line ---------------------------------------------------------

const USAGE = `usage: node host.mjs [--allow-private-network] [--allow-plain-http] [--also-allow ORIGIN]...
                    [--timeout-secs S] [--max-response-bytes N] COMPONENT COMMAND [ARGS]
commands: spec | check --config F | discover --config F
          | read --config F --catalog F [--state F] [--concurrency N]`;

export function parseArgs(argv) {
  // The policy flags count wherever they are: before the component path or after the command.
  const args = {
    allowPrivateNetwork: argv.includes('--allow-private-network'),
    allowPlainHttp: argv.includes('--allow-plain-http'),
    alsoAllow: [], timeoutSecs: DEFAULT_TIMEOUT_SECS, maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
    concurrency: DEFAULT_CONCURRENCY,
  };
  const rest = argv.filter((arg) => !POLICY_FLAGS.includes(arg));
  const positional = [];
  const options = { '--also-allow': 'alsoAllow', '--timeout-secs': 'timeoutSecs', '--max-response-bytes': 'maxResponseBytes',
    '--config': 'config', '--catalog': 'catalog', '--state': 'state', '--concurrency': 'concurrency' };
  for (let i = 0; i < rest.length; i++) {
    if (!rest[i].startsWith('--')) {
      positional.push(rest[i]);
      continue;
    }
    let [name, value] = rest[i].split(/=(.*)/s); // --name value or --name=value
    const key = options[name];
    if (!key) throw new UsageError(`unknown option ${name}`);
    if (value === undefined) {
      if (i + 1 >= rest.length) throw new UsageError(`${name} needs a value`);
      value = rest[++i];
    }
    if (key === 'alsoAllow') args.alsoAllow.push(value);
    else if (['timeoutSecs', 'maxResponseBytes', 'concurrency'].includes(key)) {
      args[key] = Number(value);
      if (!Number.isFinite(args[key]) || args[key] <= 0) throw new UsageError(`${name} must be a positive number`);
    } else args[key] = value;
  }
  const [component, command, ...extra] = positional;
  if (!component || !command) throw new UsageError('a component path and a command are needed');
  const needs = { spec: [], check: ['config'], discover: ['config'], read: ['config', 'catalog'] }[command];
  if (!needs) throw new UsageError(`unknown command ${command}`);
  if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
  for (const key of needs) if (args[key] === undefined) throw new UsageError(`${command} needs --${key}`);
  if (!Number.isInteger(args.concurrency)) throw new UsageError('--concurrency must be at least 1');
  return { ...args, component, command };
}

// --- messages -------------------------------------------------------------

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `text` to stdout, synchronously (the main thread is inside the component). */
function writeOut(text) {
  const bytes = Buffer.from(text);
  let pause = 0.05; // ms
  for (let offset = 0; offset < bytes.length;) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      // A non-blocking pipe that is full: a reader usually drains it within
      // microseconds, so wait briefly, and longer only while it stays full.
      Atomics.wait(PAUSE, 0, 0, pause);
      pause = Math.min(pause * 2, 5);
    }
  }
}

/** `sink.emit`: a batch of JSON messages, one per line, written at once (a batch ends where a runner may act). */
function emit(lines) {
  writeOut(lines.endsWith('\n') ? lines : `${lines}\n`);
}

function traceError(message, failureType = 'system_error') {
  return JSON.stringify({
    type: 'TRACE',
    trace: {
      type: 'ERROR',
      emitted_at: Date.now(),
      error: { message, internal_message: message, failure_type: failureType },
    },
  });
}

// --- the http import ------------------------------------------------------

/** `airbyte:connector/http`: allow-list here, the requests on a worker thread. */
export class Http {
  constructor({ policy, timeoutMs, maxBytes, concurrency }) {
    this.allowed = new Set();
    this.concurrency = concurrency;
    this.signal = new SharedArrayBuffer(4);
    this.flag = new Int32Array(this.signal);
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    this.worker = new Worker(new URL('./http-worker.mjs', import.meta.url), {
      workerData: { signal: this.signal, reply: port2, policy, timeoutMs, maxBytes },
      transferList: [port2],
    });
    this.worker.unref();
  }

  /** The request as the worker takes it, or a WIT `error.denied`. */
  check(request) {
    try {
      const origin = originOf(request.url);
      if (!this.allowed.has(origin)) throw new Denied(`origin ${origin} is not on the allow-list`);
      if (request.headers.some(([name]) => name.toLowerCase() === 'host')) {
        throw new Denied('a `host` header is not allowed');
      }
      return { ...request, origin };
    } catch (error) {
      if (error instanceof Denied) return { tag: 'denied', val: error.message };
      throw error;
    }
  }

  /** Sends the allowed ones of `requests` on the worker and waits: one result per request. */
  sendBatch(requests) {
    const checked = requests.map((request) => this.check(request));
    const outgoing = checked.filter((c) => !c.tag);
    let answers = [];
    if (outgoing.length) {
      Atomics.store(this.flag, 0, 0);
      this.worker.postMessage({ requests: outgoing, concurrency: this.concurrency });
      Atomics.wait(this.flag, 0, 0);
      answers = receiveMessageOnPort(this.replies).message;
    }
    return checked.map((c) => {
      const result = c.tag ? { tag: 'err', val: c } : answers.shift();
      if (result.tag === 'err' && result.val.tag === 'too-large') result.val.val = BigInt(result.val.val); // u64
      return result;
    });
  }

  /** `send: func(request) -> result<response, error>`. jco's convention: return
   * the `ok` value itself, throw `{payload: error}` for `err` (see README: jco#1668). */
  send(request) {
    const [result] = this.sendBatch([request]);
    if (result.tag === 'ok') return result.val;
    throw { payload: result.val }; // eslint-disable-line no-throw-literal
  }

  /** `send-all: func(list<request>) -> list<result<response, error>>`, in order. */
  sendAll(requests) {
    return this.sendBatch(requests);
  }
}

// --- the component --------------------------------------------------------

/** The WIT of the component's imports and exports, e.g. `airbyte:connector/http@0.4.0`. */
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

/** The component transpiled by jco, from the cache or made now: `{dir, names}`. */
async function transpiled(wasmPath) {
  let bytes;
  try {
    bytes = readFileSync(wasmPath);
  } catch (error) {
    throw new Error(`cannot read the component ${wasmPath}: ${error.code || error.message}`);
  }
  const key = createHash('sha256').update(`${readFileSync(join(HERE, 'package-lock.json'))}\0`).update(bytes).digest('hex').slice(0, 32);
  const dir = join(HERE, 'node_modules', '.cache', 'stigg-js-host', key);
  if (!existsSync(join(dir, 'names.json'))) {
    const { transpile, componentWit } = await load('@bytecodealliance/jco');
    const names = worldNames(await componentWit(bytes));
    const { files } = await transpile(bytes, { name: 'component', instantiation: 'async', noTypescript: true, quiet: true });
    const tmp = `${dir}.${process.pid}`;
    mkdirSync(tmp, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      if (!file.endsWith('.d.ts')) writeFileSync(join(tmp, file), content);
    }
    writeFileSync(join(tmp, 'names.json'), JSON.stringify(names));
    try {
      renameSync(tmp, dir);
    } catch { // another run made it first
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return { dir, names: JSON.parse(readFileSync(join(dir, 'names.json'), 'utf8')) };
}

/** The WASI imports: preview2-shim's, without environment, arguments or preopened directories. */
async function wasiImports(names) {
  const shim = await load('@bytecodealliance/preview2-shim');
  const imports = {};
  for (const name of names) {
    const [pkg, iface] = name.split('@')[0].split('/');
    if (pkg === PACKAGE) continue;
    if (!GRANTED_WASI.has(pkg)) throw new Error(`the component imports ${name}, which this host does not grant`);
    const camel = iface.replace(/-(\w)/g, (_, c) => c.toUpperCase());
    imports[`${pkg}/${iface}`] = shim[pkg.split(':')[1]][camel];
  }
  imports['wasi:cli/environment'] = { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined };
  imports['wasi:filesystem/preopens'] = { getDirectories: () => [] };
  return imports;
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

async function instantiate(wasmPath, http) {
  const { dir, names } = await transpiled(wasmPath);
  checkContract(names);
  const imports = {
    ...(await wasiImports(names)),
    [`${PACKAGE}/http`]: { send: (r) => http.send(r), sendAll: (rs) => http.sendAll(rs) },
    [`${PACKAGE}/sink`]: { emit },
  };
  const { instantiate: make } = await import(pathToFileURL(join(dir, 'component.js')).href);
  const getCoreModule = (file) => WebAssembly.compile(readFileSync(join(dir, file)));
  const exports = await make(getCoreModule, imports);
  const source = exports[`${PACKAGE}/source@${VERSION}`] ?? exports.source;
  if (!source) throw new Error(`the component does not export ${PACKAGE}/source@${VERSION}`);
  return source;
}

/** Calls an export returning `result<T, string>`: `{ok}` or `{err}` (jco throws the err payload). */
function call(fn, ...args) {
  try {
    return { ok: fn(...args) };
  } catch (error) {
    if (error && Object.prototype.hasOwnProperty.call(error, 'payload') && typeof error.payload === 'string') {
      return { err: error.payload };
    }
    throw error;
  }
}

function readText(path, what) {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    // Say which file and why, never what is in it (the config holds a key).
    throw new InputError(`Cannot read the ${what} file ${path}: ${error.code === 'ENOENT' ? 'No such file or directory' : error.code || error.message}`);
  }
}

async function main(argv) {
  let args;
  let extra;
  try {
    args = parseArgs(argv);
    extra = args.alsoAllow.map((origin) => originOf(origin, { bare: true }));
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof Denied)) throw error;
    process.stderr.write(`host.mjs: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  let config, catalog, state;
  try {
    if (args.command !== 'spec') config = readText(args.config, 'config');
    if (args.command === 'read') catalog = readText(args.catalog, 'catalog');
    if (args.command === 'read' && args.state) state = readText(args.state, 'state');
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    if (args.command === 'check') { // as the Rust host: a FAILED status, not an error
      writeOut(`${JSON.stringify({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED', message: error.message } })}\n`);
      return 0;
    }
    writeOut(`${traceError(error.message, 'config_error')}\n`);
    return 1;
  }

  const http = new Http({
    policy: { allowPrivate: args.allowPrivateNetwork, allowPlainHttp: args.allowPlainHttp },
    timeoutMs: args.timeoutSecs * 1000, maxBytes: args.maxResponseBytes, concurrency: args.concurrency,
  });
  let result;
  let stage = 'could not be loaded'; // what the TRACE ERROR says, as the Rust host
  try {
    const source = await instantiate(args.component, http);
    if (config !== undefined) {
      // ok is a list of origins; err (the config is unusable) leaves the list
      // empty, and the command itself reports why.
      stage = 'failed';
      const declared = call(source.allowedOrigins, config);
      stage = 'misbehaved'; // a malformed origin
      http.allowed = new Set([...(declared.ok ?? []).map((origin) => originOf(origin, { bare: true })), ...extra]);
    }
    stage = 'failed';
    if (args.command === 'spec') result = call(source.spec);
    else if (args.command === 'check') result = call(source.check, config);
    else if (args.command === 'discover') result = call(source.discover, config);
    else result = call(source.read, config, catalog, state);
  } catch (error) {
    if (error?.code === 'EPIPE') return 1;
    const text = error instanceof Error ? error.message : String(error);
    if (error instanceof WebAssembly.RuntimeError) stage = 'trapped';
    try {
      process.stderr.write(`host.mjs: ${text}\n`);
      writeOut(`${traceError(`the connector component ${stage}: ${text}`)}\n`);
    } catch {
      // stdout is gone
    }
    return 1;
  }
  // result<_, string>: an err already emitted its TRACE ERROR.
  return 'err' in result ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
