// A run's HTTP exchanges, recorded for someone else to replay (`--record DIR`,
// `--replay DIR`), and shown as they happen (`--debug`): the Rust host's
// host/src/recording.rs and its `Debugging` transport (host/src/transport.rs).
// Runs on the component worker (./component-worker.mjs), under the
// allow-list of ./http-client.mjs: a request it denies is neither recorded,
// replayed nor shown.
//
// A transport here is a function from the allowed requests of a batch to
// their exchanges, in order: `{result, ms}` each, `result` the WIT
// `result<response, error>` as jco takes it (`{tag: 'ok' | 'err', val}`) and
// `ms` the time the exchange took. The decorators wrap the one under them.
//
// Secrets are the config's top-level properties the component's spec marks
// `airbyte_secret` (a nested secret is not known here), masked in every form
// a text may hold them (connector-io/src/secret.rs, `forms_of`).

import { isUtf8 } from 'node:buffer';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ioReason, writeAll } from './shared.mjs';

/** What stands in a recording where a secret was. */
export const MASK = '<secret>';
const EXCHANGES = 'exchanges.jsonl';

/** A failure of the host itself (a recording that cannot be read or started): a TRACE ERROR, exit 1. */
export class HostFailure extends Error {}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
/** `value[key]` as serde_json indexes it: an own property of an object, else null. */
const field = (value, key) => (isObject(value) && Object.hasOwn(value, key) ? value[key] : null);

// --- the forms of a secret (connector-io/src/secret.rs) -------------------

/** Every form of `key` a server might send back: as typed, JSON-escaped (once, twice), percent-encoded, base64. */
export function formsOf(key) {
  const forms = [key];
  for (const once of jsonEscapes(key)) {
    forms.push(...jsonEscapes(once), once);
  }
  forms.push(...percentEncodings(key), ...base64Cores(Buffer.from(key, 'utf8')));
  return forms;
}

/** The key inside a JSON string as common encoders write it: non-ASCII raw or `\u` escaped (either hex case), `/` raw or `\/`. */
function jsonEscapes(text) {
  const forms = [
    jsonEscape(text, () => false, false),
    jsonEscape(text, (c) => c.codePointAt(0) > 0x7f, false),
    jsonEscape(text, (c) => c.codePointAt(0) > 0x7f, true),
  ];
  return [...forms, ...forms.map((form) => form.replaceAll('/', '\\/'))];
}

const SHORT_ESCAPES = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

function jsonEscape(text, asUnicode, upper) {
  let out = '';
  for (const c of text) { // code points, as Rust's chars()
    if (SHORT_ESCAPES[c]) {
      out += SHORT_ESCAPES[c];
    } else if (c.codePointAt(0) < 0x20 || asUnicode(c)) {
      for (let i = 0; i < c.length; i++) { // each UTF-16 unit
        const hex = c.charCodeAt(i).toString(16).padStart(4, '0');
        out += `\\u${upper ? hex.toUpperCase() : hex}`;
      }
    } else {
      out += c;
    }
  }
  return out;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Every byte but RFC 3986's unreserved ones as `%XX` (either hex case), and the form encoding (space as `+`). */
function percentEncodings(key) {
  const bytes = Buffer.from(key, 'utf8');
  const encode = (upper, plus) => {
    let out = '';
    for (const b of bytes) {
      const c = String.fromCharCode(b);
      const hex = b.toString(16).padStart(2, '0');
      if (b < 0x80 && UNRESERVED.test(c)) out += c;
      else if (b === 0x20 && plus) out += '+';
      else out += `%${upper ? hex.toUpperCase() : hex}`;
    }
    return out;
  };
  return [encode(true, false), encode(false, false), encode(true, true), encode(false, true)];
}

/**
 * The part of the key's base64 (standard and URL-safe alphabets) that does
 * not depend on its neighbours, at each of the three byte alignments it can
 * have inside a longer encoded text: whole 3-byte groups of key bytes only.
 */
function base64Cores(key) {
  const forms = [];
  for (let skip = 0; skip < Math.min(3, key.length); skip++) {
    const whole = Math.floor((key.length - skip) / 3) * 3;
    if (whole === 0) continue;
    const standard = key.subarray(skip, skip + whole).toString('base64');
    forms.push(standard.replaceAll('+', '-').replaceAll('/', '_'), standard);
  }
  return forms;
}

// --- the secrets of a config ----------------------------------------------

/** The secret values of a config, in every form, longest first. */
export class Secrets {
  constructor(values = []) {
    this.values = values;
    const forms = values.flatMap(formsOf);
    // Longest first (in UTF-8 bytes, as the Rust host), so a form inside a longer one does not cut it.
    forms.sort((a, b) => Buffer.byteLength(b) - Buffer.byteLength(a) || (a < b ? -1 : a > b ? 1 : 0));
    this.forms = forms.filter((form, i) => form !== forms[i - 1]);
  }

  /** The string values of `config`'s properties that `spec` (a SPEC's `connectionSpecification`) marks `airbyte_secret`. */
  static of(config, spec) {
    const properties = field(spec, 'properties');
    const values = Object.entries(isObject(properties) ? properties : {})
      .filter(([, schema]) => field(schema, 'airbyte_secret') === true)
      .map(([name]) => field(config, name))
      .filter((value) => typeof value === 'string' && value !== '');
    return new Secrets(values);
  }

  /** `text` with every form of every secret replaced by the mask. */
  mask(text) {
    return this.forms.reduce((masked, form) => masked.replaceAll(form, MASK), text);
  }

  /** The config with each secret property's value replaced by the mask. */
  maskedConfig(config) {
    if (!isObject(config)) return config;
    return Object.fromEntries(Object.entries(config).map(([name, value]) =>
      [name, typeof value === 'string' && this.values.includes(value) ? MASK : value]));
  }
}

/** The config's secrets, from the SPEC message among a spec call's output lines. */
export function secretsOf(configText, specLines) {
  const spec = specLines.split('\n').map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      return null;
    }
  }).find((message) => field(message, 'type') === 'SPEC');
  let config = null;
  try {
    config = JSON.parse(configText ?? '');
  } catch {
    // not JSON: no secret is known
  }
  return Secrets.of(config, field(field(spec, 'spec'), 'connectionSpecification'));
}

// --- recording ------------------------------------------------------------

/**
 * Starts a recording in `dir`: the config (its secrets masked), the catalog
 * and the state (every secret form masked), and an empty list of exchanges,
 * whose file descriptor (open to append) it returns. A HostFailure when it
 * cannot be written.
 */
export function startRecording(dir, secrets, { config, catalog, state }) {
  try {
    mkdirSync(dir, { recursive: true });
    if (config !== undefined) writeFileSync(join(dir, 'config.json'), maskedConfigText(secrets, config));
    for (const [name, text] of [['catalog.json', catalog], ['state.json', state]]) {
      if (text !== undefined) writeFileSync(join(dir, name), secrets.mask(text));
    }
    const path = join(dir, EXCHANGES);
    writeFileSync(path, '');
    return openSync(path, 'a');
  } catch (error) {
    throw new HostFailure(`cannot record into ${dir}: ${ioReason(error)}`);
  }
}

function maskedConfigText(secrets, text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return secrets.mask(text); // not JSON: every form masked
  }
  return JSON.stringify(secrets.maskedConfig(value));
}

/** Sends through `inner` and appends each exchange, masked, to the file `fd` (from startRecording). */
export function recorder(inner, secrets, fd) {
  return (requests) => {
    const exchanges = inner(requests);
    exchanges.forEach(({ result }, i) => {
      const line = `${secrets.mask(JSON.stringify(exchangeLine(requests[i], result)))}\n`;
      try { // one write per line: whole, whatever else is recorded
        writeAll(fd, Buffer.from(line));
      } catch (error) { // a recording that cannot be written must not fail the sync it records
        writeStderr(`host.mjs: could not record an exchange: ${ioReason(error)}`);
      }
    });
    return exchanges;
  };
}

function exchangeLine({ method, url, headers, body }, result) {
  const line = { request: { method: method.toUpperCase(), url, headers, body } };
  if (result.tag === 'ok') {
    const { status, headers: responseHeaders, body: responseBody } = result.val;
    line.response = { status, headers: responseHeaders, body: responseBody };
  } else if (result.val.tag === 'too-large') {
    line.error = { kind: 'too-large', message: '', cap: Number(result.val.val) }; // any cap a body can exceed is exact
  } else { // the variant's payload: the prefix its case adds when shown is not part of it
    line.error = { kind: result.val.tag, message: result.val.val };
  }
  return line;
}

/** A WIT `error` as the Rust host's HttpError says it. */
export function errorText({ tag, val }) {
  switch (tag) {
    case 'denied': return `request refused by the host: ${val}`;
    case 'timeout': return `request timed out: ${val}`;
    case 'too-large': return `response larger than the host's cap of ${val} bytes`;
    case 'not-utf8': return `response body is not UTF-8: ${val}`;
    default: return `connection failed: ${val}`;
  }
}

function writeStderr(text) {
  try {
    writeAll(2, Buffer.from(`${text}\n`));
  } catch {
    // stderr is gone
  }
}

// --- replaying ------------------------------------------------------------

/**
 * A transport that answers from the recording in `dir`, with no network:
 * each request by the first recorded exchange left with the same method, URL
 * and body (streams read at once interleave their requests, so the order is
 * kept per request, not across them). A HostFailure when it cannot be read.
 */
export function replayer(dir) {
  const left = loadRecording(join(dir, EXCHANGES));
  return (requests) => requests.map((request) => {
    const started = performance.now();
    const method = request.method.toUpperCase();
    const at = left.findIndex((r) => r.method === method && r.url === request.url && r.body === request.body);
    const result = at >= 0 ? left.splice(at, 1)[0].result : notRecorded(method, request, left[0]);
    return { result, ms: Math.floor(performance.now() - started) };
  });
}

function notRecorded(method, { url, body }, next) {
  const then = next
    ? `the next recorded request is ${next.method} ${next.url} with body ${excerpt(next.body)}`
    : 'every recorded request was answered';
  const message = `replay: ${method} ${url} with body ${excerpt(body)} was not recorded (or not that many times); ${then}`;
  return { tag: 'err', val: { tag: 'denied', val: message } };
}

/** The first 300 characters of a body, quoted, and `…` if it was cut. */
function excerpt(body) {
  const chars = [...body];
  return `${JSON.stringify(chars.slice(0, 300).join(''))}${chars.length > 300 ? '…' : ''}`;
}

function loadRecording(path) {
  let bytes;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new HostFailure(`cannot read the recording ${path}: ${ioReason(error)}`);
  }
  if (!isUtf8(bytes)) throw new HostFailure(`cannot read the recording ${path}: not UTF-8 text`);
  const lines = bytes.toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop(); // the last line's newline
  return lines.map((line, i) => {
    const exchange = recorded(line.replace(/\r$/, ''));
    if (!exchange) throw new HostFailure(`${path} line ${i + 1}: not a recorded exchange`);
    return exchange;
  });
}

const isText = (value) => typeof value === 'string';
const isHeaders = (value) => Array.isArray(value)
  && value.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every(isText));

/** One recorded exchange, `{method, url, body, result}`, or null when the line is not one. */
function recorded(line) {
  let value;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const request = field(value, 'request');
  const [method, url, body] = ['method', 'url', 'body'].map((key) => field(request, key));
  if (!['GET', 'POST'].includes(method) || !isText(url) || !isText(body)) return null;
  const result = replayedResult(field(value, 'response'), field(value, 'error'));
  return result && { method, url, body, result };
}

function replayedResult(response, error) {
  if (isObject(response)) {
    const [status, headers, body] = ['status', 'headers', 'body'].map((key) => field(response, key));
    if (!Number.isInteger(status) || status < 0 || status > 65535 || !isHeaders(headers) || !isText(body)) return null;
    return { tag: 'ok', val: { status, headers, body } };
  }
  if (!isObject(error)) return null;
  const [kind, message, cap] = ['kind', 'message', 'cap'].map((key) => field(error, key));
  if (!isText(kind) || !isText(message)) return null;
  if (kind === 'too-large') {
    return { tag: 'err', val: { tag: kind, val: BigInt(Number.isSafeInteger(cap) && cap >= 0 ? cap : 0) } };
  }
  const tag = ['denied', 'timeout', 'not-utf8'].includes(kind) ? kind : 'transport';
  return { tag: 'err', val: { tag, val: message } };
}

// --- debugging ------------------------------------------------------------

/**
 * A DEBUG LOG for each exchange, written with `writeLine` (stdout, under its
 * lock): the operation and its variables (the key travels in a header, which
 * is not shown), then the status, the body's size and the time taken, or the error.
 */
export function debugging(inner, writeLine) {
  return (requests) => {
    const exchanges = inner(requests);
    exchanges.forEach(({ result, ms }, i) => {
      const { method, url, body } = requests[i];
      const outcome = result.tag === 'ok'
        ? `HTTP ${result.val.status}, ${Buffer.byteLength(result.val.body)} bytes, ${ms} ms`
        : `${errorText(result.val)}, after ${ms} ms`;
      const message = `${method.toUpperCase()} ${url}${operation(body)}: ${outcome}`;
      try {
        writeLine(JSON.stringify({ type: 'LOG', log: { level: 'DEBUG', message } }));
      } catch {
        // Best effort: a closed stdout fails the run's own next write.
      }
    });
    return exchanges;
  };
}

/** ` query Name variables {...}` of a GraphQL body, or nothing when it is not JSON. */
function operation(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return '';
  }
  const query = field(body, 'query');
  const name = (isText(query) ? query : '').split(/[{(]/)[0].split(/\s+/).filter(Boolean).join(' ');
  return ` ${name} variables ${JSON.stringify(field(body, 'variables'))}`;
}
