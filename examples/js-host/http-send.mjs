// The JS host's HTTP requests, sent by a thread that is free to (the host's
// main thread; ./http-worker.mjs when ./http-client.mjs runs alone). The
// component's `http.send` is synchronous, so the component's thread
// (./http-client.mjs) posts a batch and blocks in `Atomics.wait`; the sending
// thread sends the batch (up to `concurrency` requests in flight), posts the
// results on the reply port (bodies as bytes, moved, not copied) and wakes the
// waiting thread.
//
// A request reaching this code is already on the allow-list; here it meets
// the network policy (on each address a name resolves to, right before
// connecting), the timeout (one deadline from connecting to the last body
// byte), the response size cap (a body is read in bounded pieces and refused
// at cap+1) and the UTF-8 check. Every failure becomes a WIT error, never an
// exception.

import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { isUtf8 } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { Denied, firstInvalidUtf8, refusal } from './policy.mjs';

// One sender per thread: its options, set by `serveRequests`.
let policy;
let timeoutMs;
let timeoutSecs;
let maxBytes;
// Keep-alive connections, as many as requests may be in flight.
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/** `dns.lookup` that returns only the addresses the policy permits. */
function guardedLookup(scheme) {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error);
      const reasons = [];
      const permitted = addresses.filter(({ address }) => {
        const reason = refusal(policy, scheme, address);
        if (reason) reasons.push(reason);
        return !reason;
      });
      if (permitted.length === 0) {
        return callback(new Denied(`refused by the network policy: ${reasons.join('; ')}`));
      }
      if (options.all) return callback(null, permitted);
      return callback(null, permitted[0].address, permitted[0].family);
    });
  };
}

const err = (tag, val) => ({ tag: 'err', val: { tag, val } });

// A body of unknown length is kept in pages: the first small (most answers
// are), the others 1 MiB, each its own allocation, so a body refused at the
// cap holds about the cap, never the socket's larger read buffers that
// Node's chunks are slices of.
const FIRST_PAGE = 64 * 1024;
const PAGE = 1024 * 1024;

/** Collects a body of at most `cap` bytes; `add` returns false past the cap. */
class Body {
  constructor(cap, declared) {
    this.cap = cap;
    this.size = 0;
    // A declared length within the cap: one buffer of that size.
    this.exact = declared !== null && declared <= cap ? Buffer.allocUnsafeSlow(declared) : null;
    this.pages = [];
    this.used = 0; // bytes in the last page
  }

  add(chunk) {
    if (this.size + chunk.length > this.cap) return false;
    if (this.exact) {
      if (this.size + chunk.length > this.exact.length) return false; // more than declared: the parser stops it first
      chunk.copy(this.exact, this.size);
    } else {
      for (let offset = 0; offset < chunk.length;) {
        let page = this.pages[this.pages.length - 1];
        if (!page || this.used === page.length) {
          page = Buffer.allocUnsafeSlow(Math.min(this.pages.length ? PAGE : FIRST_PAGE, Math.max(this.cap - this.size, 1)));
          this.pages.push(page);
          this.used = 0;
        }
        const n = chunk.copy(page, this.used, offset);
        this.used += n;
        offset += n;
      }
    }
    this.size += chunk.length;
    return true;
  }

  /** The body as one Buffer that owns its ArrayBuffer (to transfer it). */
  bytes() {
    if (this.exact) return this.size === this.exact.length ? this.exact : this.exact.subarray(0, this.size);
    const out = Buffer.allocUnsafeSlow(this.size);
    let at = 0;
    for (const [i, page] of this.pages.entries()) {
      at += page.copy(out, at, 0, i === this.pages.length - 1 ? this.used : page.length);
    }
    this.pages = [];
    return out;
  }
}

/** One request: `{tag: 'ok', val: response}` or `{tag: 'err', val: error}`, never throws. */
function send({ method, url, headers, body, origin }) {
  return new Promise((resolve) => {
    let what = `${method.toUpperCase()} ${url}`; // error texts start with it, as the Rust host's
    let settled = false;
    let timer;
    let request;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    try {
      const scheme = origin.split(':')[0];
      const { hostname, href } = new URL(url);
      what = `${method.toUpperCase()} ${href}`;
      const literal = hostname.replace(/^\[(.*)\]$/, '$1');
      if (net.isIP(literal)) { // no lookup for an IP address: check it here
        const reason = refusal(policy, scheme, literal);
        if (reason) return finish(err('denied', `${what}: refused by the network policy: ${reason}`));
      }
      const post = method === 'post';
      const outgoing = Object.fromEntries(headers);
      if (post) outgoing['content-length'] = Buffer.byteLength(body);
      // One deadline from connecting to the last body byte, as the Rust host.
      timer = setTimeout(() => {
        finish(err('timeout', `${what}: no complete answer within the host's ${timeoutSecs} s timeout`));
        request?.destroy();
      }, timeoutMs);
      request = (scheme === 'https' ? https : http).request(url, {
        method: method.toUpperCase(),
        headers: outgoing,
        agent: agents[scheme],
        lookup: guardedLookup(scheme),
      }, (response) => {
        const length = response.headers['content-length'];
        const declared = length !== undefined && /^\d+$/.test(length) && !response.headers['transfer-encoding']
          ? Number(length) : null;
        if (declared !== null && declared > maxBytes) { // refused before reading any of it
          finish(err('too-large', maxBytes));
          response.destroy();
          request.destroy();
          return;
        }
        const data = new Body(maxBytes, declared);
        response.on('data', (chunk) => {
          if (settled) return;
          if (!data.add(chunk)) {
            finish(err('too-large', maxBytes));
            response.destroy();
            request.destroy();
          }
        });
        response.on('error', (error) => finish(err('transport', `${what}: ${error.message || error.code}`)));
        response.on('close', () => finish(err('transport', `${what}: the connection closed before the body ended`)));
        response.on('end', () => {
          if (settled) return;
          const bytes = data.bytes();
          if (!isUtf8(bytes)) {
            return finish(err('not-utf8',
              `${what}: HTTP ${response.statusCode}, invalid byte at offset ${firstInvalidUtf8(bytes)}`));
          }
          const pairs = [];
          for (let i = 0; i < response.rawHeaders.length; i += 2) {
            pairs.push([response.rawHeaders[i].toLowerCase(), response.rawHeaders[i + 1]]);
          }
          finish({ tag: 'ok', val: { status: response.statusCode, headers: pairs, body: bytes } });
        });
      });
      request.on('error', (error) => finish(error instanceof Denied
        ? err('denied', `${what}: ${error.message}`)
        : err('transport', `${what}: ${error.message || error.code}`)));
      request.end(post ? body : undefined);
    } catch (error) { // e.g. a header Node refuses: never an exception for the component
      request?.destroy();
      finish(error instanceof Denied
        ? err('denied', `${what}: ${error.message}`)
        : err('transport', `${what}: ${error?.message || error}`));
    }
  });
}

/** The batch's requests with at most `concurrency` in flight; results in order, each with the `ms` it took. */
async function sendAll(requests, concurrency) {
  const results = new Array(requests.length);
  let next = 0;
  const runner = async () => {
    while (next < requests.length) {
      const index = next++;
      const started = performance.now();
      const result = await send(requests[index]);
      results[index] = { ...result, ms: Math.floor(performance.now() - started) }; // for --debug
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, runner));
  return results;
}

/**
 * Answers the batches posted on `requests` (a port): results on `reply`, then
 * `signal` (an Int32Array's SharedArrayBuffer) set to 1 and notified.
 * `options`: {policy, timeoutMs, timeoutSecs, maxBytes}.
 */
export function serveRequests(requests, reply, signal, options) {
  ({ policy, timeoutMs, timeoutSecs, maxBytes } = options);
  const flag = new Int32Array(signal);
  requests.on('message', async ({ requests: batch, concurrency }) => {
    reply.postMessage(...(await answers(batch, concurrency)));
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
}

/** The batch's results, and the list of what to transfer with them. */
async function answers(requests, concurrency) {
  let results;
  try {
    results = await sendAll(requests, concurrency);
  } catch (error) { // a bug here must not leave the main thread waiting
    results = requests.map(() => err('transport', `the host failed to send the request: ${error}`));
  }
  // Bodies travel as their ArrayBuffers, moved (not copied) to the waiting thread.
  const bodies = new Set(results.filter((r) => r.tag === 'ok').map((r) => r.val.body.buffer));
  return [results, [...bodies]];
}
