// The JS host's HTTP requests, on a worker thread. The component's `http.send`
// is synchronous, so the main thread posts a batch here and blocks in
// `Atomics.wait`; this thread sends the batch (up to `concurrency` requests in
// flight), posts the results on the reply port and wakes the main thread.
//
// A request reaching this thread is already on the allow-list; here it meets
// the network policy (on each address a name resolves to, right before
// connecting), the timeout, the response size cap and the UTF-8 check.

import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { isUtf8 } from 'node:buffer';
import { parentPort, workerData } from 'node:worker_threads';
import { Denied, refusal } from './policy.mjs';

const { signal, reply, policy, timeoutMs, maxBytes } = workerData;
const flag = new Int32Array(signal);
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

/** The byte offset of the first invalid UTF-8 sequence in `bytes`. */
function firstInvalidUtf8(bytes) {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return i;
    if (len > 1 && !isUtf8(bytes.subarray(i, i + len))) return i;
    i += len;
  }
  return bytes.length;
}

const err = (tag, val) => ({ tag: 'err', val: { tag, val } });

/** One request: `{tag: 'ok', val: response}` or `{tag: 'err', val: error}`, never throws. */
function send({ method, url, headers, body, origin }) {
  return new Promise((resolve) => {
    const scheme = origin.split(':')[0];
    const { hostname, href } = new URL(url);
    const what = `${method.toUpperCase()} ${href}`; // error texts start with it, as the Rust host's
    const literal = hostname.replace(/^\[(.*)\]$/, '$1');
    if (net.isIP(literal)) { // no lookup for an IP address: check it here
      const reason = refusal(policy, scheme, literal);
      if (reason) return resolve(err('denied', `${what}: refused by the network policy: ${reason}`));
    }
    const post = method === 'post';
    const outgoing = Object.fromEntries(headers);
    if (post) outgoing['content-length'] = Buffer.byteLength(body);
    let settled = false;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = (scheme === 'https' ? https : http).request(url, {
      method: method.toUpperCase(),
      headers: outgoing,
      agent: agents[scheme],
      lookup: guardedLookup(scheme),
    }, (response) => {
      const chunks = [];
      let size = 0;
      response.on('data', (chunk) => {
        size += chunk.length;
        if (size > maxBytes) {
          finish(err('too-large', maxBytes));
          response.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', (error) => finish(err('transport', `${what}: ${error.message}`)));
      response.on('end', () => {
        const data = Buffer.concat(chunks);
        if (!isUtf8(data)) {
          return finish(err('not-utf8',
            `${what}: HTTP ${response.statusCode}, invalid byte at offset ${firstInvalidUtf8(data)}`));
        }
        const pairs = [];
        for (let i = 0; i < response.rawHeaders.length; i += 2) {
          pairs.push([response.rawHeaders[i].toLowerCase(), response.rawHeaders[i + 1]]);
        }
        finish({ tag: 'ok', val: { status: response.statusCode, headers: pairs, body: data.toString('utf8') } });
      });
    });
    // One deadline from connecting to the last body byte, as the Rust host.
    const timer = setTimeout(() => {
      finish(err('timeout', `${what}: no complete answer within the host's ${timeoutMs / 1000} s timeout`));
      request.destroy();
    }, timeoutMs);
    request.on('error', (error) => finish(error instanceof Denied
      ? err('denied', `${what}: ${error.message}`)
      : err('transport', `${what}: ${error.message || error.code}`)));
    request.end(post ? body : undefined);
  });
}

/** The batch's requests with at most `concurrency` in flight; results in order. */
async function sendAll(requests, concurrency) {
  const results = new Array(requests.length);
  let next = 0;
  const runner = async () => {
    while (next < requests.length) {
      const index = next++;
      results[index] = await send(requests[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, runner));
  return results;
}

parentPort.on('message', async ({ requests, concurrency }) => {
  let results;
  try {
    results = await sendAll(requests, concurrency);
  } catch (error) { // a bug here must not leave the main thread waiting
    results = requests.map(() => err('transport', `the host failed to send the request: ${error}`));
  }
  reply.postMessage(results);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
