#!/usr/bin/env node
// Client on Node's ws, a test peer for wsdbg's cmd tests.
//
// Usage: node node_client.js [--deflate] URL MESSAGE...
//
// Connects (offering permessage-deflate with --deflate), sends each MESSAGE
// as a text message and waits for its reply before the next, printing each
// reply on its own line, then closes with 1000 and prints "close CODE" with
// the code the server answered with. It prints "extensions NAME" for the
// extension the server accepted, first. Any failure exits 1 with the reason.
'use strict';
const WebSocket = require('ws');

const args = process.argv.slice(2);
const deflate = args[0] === '--deflate';
if (deflate) args.shift();
const [url, ...msgs] = args;
const ws = new WebSocket(url, { perMessageDeflate: deflate ? { threshold: 0 } : false });
const timer = setTimeout(() => { console.error('timed out'); process.exit(1); }, 15000);
let next = 0;
const sendNext = () => {
  if (next < msgs.length) {
    ws.send(msgs[next++]);
  } else {
    ws.close(1000);
  }
};
ws.on('open', () => {
  const ext = String(ws.extensions || '').split(';')[0].trim() || 'none';
  process.stdout.write(`extensions ${ext}\n`);
  sendNext();
});
ws.on('message', (data) => {
  process.stdout.write(`${data}\n`);
  sendNext();
});
ws.on('close', (code) => {
  clearTimeout(timer);
  process.stdout.write(`close ${code}\n`);
});
ws.on('error', (err) => { console.error(String(err)); process.exit(1); });
