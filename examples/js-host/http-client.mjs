// The `airbyte:connector/http` import of the JS host, as the component calls
// it: synchronous. Checks each request (allow-list, `host` header, the
// characters of every header) before anything is sent, then hands the
// allowed ones to the thread that sends them (./http-send.mjs: the host's
// main thread, or an HTTP worker of its own) and blocks in `Atomics.wait`
// until it answers. What happens under the allow-list is its `exchange`
// transport: that thread (the network), or the recorder, replayer or debug
// LOG of ./recording.mjs over it. Runs on the component worker
// (./component-worker.mjs); tests/ecosystem/js_http_probe.mjs runs it alone.

import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { Denied, headerRefusal, originOf } from './policy.mjs';

/** What the sending thread (./http-send.mjs) is given: the options in the units it takes. */
export function senderOptions({ policy, timeoutMs, maxBytes }) {
  const cap = BigInt(maxBytes);
  return {
    policy,
    // setTimeout takes at most 2^31-1 ms (24.8 days); a longer timeout is that.
    timeoutMs: Math.min(Number(timeoutMs), 2 ** 31 - 1),
    timeoutSecs: Number(timeoutMs) / 1000,
    maxBytes: cap > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(cap),
  };
}

/** `airbyte:connector/http`: allow-list and header rules here, the requests on a worker thread. */
export class Http {
  /**
   * `policy` {allowPrivate, allowPlainHttp}, `timeoutMs`, `maxBytes` (a number
   * or a decimal string up to 2^64-1), `concurrency`; `channel` {port, signal}:
   * where a thread serving the requests (./http-send.mjs) listens, else this
   * starts an HTTP worker of its own.
   */
  constructor({ policy, timeoutMs, maxBytes, concurrency, channel }) {
    this.allowed = new Set();
    // The allowed requests of a batch to their exchanges, `{result, ms}` each (./recording.mjs).
    this.exchange = (requests) => this.network(requests);
    this.concurrency = concurrency;
    this.maxBytes = BigInt(maxBytes); // u64, as `too-large` carries it
    if (channel) {
      this.requests = channel.port;
      this.replies = channel.port;
      this.flag = new Int32Array(channel.signal);
      return;
    }
    const signal = new SharedArrayBuffer(4);
    this.flag = new Int32Array(signal);
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    this.requests = new Worker(new URL('./http-worker.mjs', import.meta.url), {
      workerData: { signal, reply: port2, ...senderOptions({ policy, timeoutMs, maxBytes }) },
      transferList: [port2],
    });
    this.requests.unref();
  }

  /** The request as the worker takes it (its URL as the allow-list read it), or a WIT `error.denied`. */
  check(request) {
    try {
      const origin = originOf(request.url);
      if (!this.allowed.has(origin)) throw new Denied(`origin ${origin} is not on the allow-list`);
      for (const [name, value] of request.headers) {
        const refused = headerRefusal(name, value);
        if (refused) throw new Denied(refused);
        if (name.toLowerCase() === 'host') throw new Denied('a `host` header is not allowed');
      }
      return { ...request, url: new URL(request.url).href, origin };
    } catch (error) {
      if (error instanceof Denied) return { tag: 'denied', val: error.message };
      throw error;
    }
  }

  /** The allowed ones of `requests` exchanged, the others denied: one result per request. */
  sendBatch(requests) {
    const checked = requests.map((request) => this.check(request));
    const outgoing = checked.filter((c) => !c.tag);
    const exchanges = outgoing.length ? this.exchange(outgoing) : [];
    return checked.map((c) => (c.tag ? { tag: 'err', val: c } : exchanges.shift().result));
  }

  /** Sends the requests from the sending thread and waits: `{result, ms}` each, in order. */
  network(requests) {
    Atomics.store(this.flag, 0, 0);
    this.requests.postMessage({ requests, concurrency: this.concurrency });
    Atomics.wait(this.flag, 0, 0);
    return receiveMessageOnPort(this.replies).message.map(({ ms = 0, ...result }) => {
      if (result.tag === 'err') {
        if (result.val.tag === 'too-large') result.val.val = this.maxBytes; // u64
      } else {
        // The body arrives as bytes (transferred, not copied), checked UTF-8 already.
        const body = result.val.body;
        result.val.body = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
      }
      return { result, ms };
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
