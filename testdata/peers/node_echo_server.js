#!/usr/bin/env node
// Echo server on Node's ws, a test peer for wsdbg's cmd tests.
//
// Usage: node node_echo_server.js [--deflate]
//
// Listens on 127.0.0.1 on a free port and prints "PORT <n>" on stdout once
// it accepts connections. Every data message is sent back as it came (text
// as text, binary as binary). --deflate accepts permessage-deflate (ws's
// server leaves it off by default) and compresses every reply. It runs
// until stdin closes, so the test that started it needs no signal.
'use strict';
const { WebSocketServer } = require('ws');

const deflate = process.argv.includes('--deflate');
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  // A client that breaks the protocol gets ws's close (1002, 1007, 1009);
  // without a listener the 'error' event that comes with it would end
  // the whole server.
  ws.on('error', () => {});
});
wss.on('listening', () => {
  process.stdout.write(`PORT ${wss.address().port}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
