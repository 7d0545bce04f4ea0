// The HTTP requests of ./http-client.mjs when it runs without the host's main
// thread to send them (tests/ecosystem/js_http_probe.mjs): a worker thread
// that does what the host's main thread does (./http-send.mjs).

import { parentPort, workerData } from 'node:worker_threads';
import { serveRequests } from './http-send.mjs';

serveRequests(parentPort, workerData.reply, workerData.signal, workerData);
