// h2echo: a WebSocket echo server over HTTP/2 extended CONNECT (RFC 8441)
// on Node's http2 module, for wsdbg's interoperability tests. It speaks h2c
// with prior knowledge on 127.0.0.1, a free port, which it prints as
// "listening PORT". Usage: node h2echo.js [SUBPROTOCOL...]
//
// The WebSocket framing (RFC 6455 §5) is written here, small and strict:
// client frames must be masked. Data messages are echoed with their
// opcode; "frag:..." is echoed in three fragments with a ping between
// each; "close-me" makes the server start the closing handshake (1000,
// "bye"); pings get pongs; a close is echoed and ends the stream.
'use strict';
const http2 = require('http2');

const supported = process.argv.slice(2);

const server = http2.createServer({
  settings: { enableConnectProtocol: true },
  maxSessionMemory: 64,
});

server.on('stream', (stream, headers) => {
  if (headers[':method'] !== 'CONNECT' || headers[':protocol'] !== 'websocket') {
    stream.respond({ ':status': 400, 'content-type': 'text/plain' });
    stream.end('not a WebSocket extended CONNECT\n');
    return;
  }
  if (headers['sec-websocket-version'] !== '13') {
    stream.respond({ ':status': 400, 'sec-websocket-version': '13' });
    stream.end();
    return;
  }
  const offered = (headers['sec-websocket-protocol'] || '')
    .split(',').map((s) => s.trim()).filter((s) => s);
  const chosen = offered.find((p) => supported.includes(p));
  const resp = { ':status': 200 };
  if (chosen) resp['sec-websocket-protocol'] = chosen;
  stream.respond(resp);
  serveWebSocket(stream);
});

function frame(op, payload, fin = true) {
  const n = payload.length;
  let head;
  if (n < 126) {
    head = Buffer.from([(fin ? 0x80 : 0) | op, n]);
  } else if (n < 65536) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | op; head[1] = 126; head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | op; head[1] = 127; head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

function serveWebSocket(stream) {
  let chunks = [];
  let have = 0;
  let msgOp = 0;
  let parts = [];
  let closed = false;
  const send = (op, payload, fin) => { if (!stream.destroyed) stream.write(frame(op, payload, fin)); };

  stream.on('data', (d) => {
    chunks.push(d);
    have += d.length;
    let buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    chunks = [buf];
    for (;;) {
      if (buf.length < 2) break;
      const fin = (buf[0] & 0x80) !== 0;
      const op = buf[0] & 0x0f;
      if ((buf[1] & 0x80) === 0) { fail(1002, 'unmasked client frame'); return; }
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + 4 + len) break;
      const mask = buf.subarray(off, off + 4);
      const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < len; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(off + 4 + len);
      chunks = [buf];
      have = buf.length;
      handle(fin, op, payload);
      if (closed) return;
    }
  });
  stream.on('error', () => {});

  function fail(code, reason) {
    const p = Buffer.alloc(2 + Buffer.byteLength(reason));
    p.writeUInt16BE(code, 0); p.write(reason, 2);
    send(0x8, p, true);
    closed = true;
    stream.end();
  }

  function handle(fin, op, payload) {
    switch (op) {
      case 0x9: send(0xA, payload, true); return;
      case 0xA: return;
      case 0x8:
        if (!closed) { send(0x8, payload.subarray(0, 2), true); }
        closed = true;
        stream.end();
        return;
      case 0x1: case 0x2:
        msgOp = op; parts = [payload]; break;
      case 0x0:
        parts.push(payload); break;
      default:
        fail(1002, 'bad opcode'); return;
    }
    if (!fin) return;
    const msg = Buffer.concat(parts);
    parts = [];
    const text = msgOp === 0x1 ? msg.toString('utf8') : '';
    if (text === 'close-me') {
      const p = Buffer.alloc(5); p.writeUInt16BE(1000, 0); p.write('bye', 2);
      send(0x8, p, true);
      closed = true; // wait for the client's close, then end
      stream.once('data', () => stream.end());
      return;
    }
    if (text.startsWith('frag:')) {
      const a = msg.subarray(0, 2), b = msg.subarray(2, 4), c = msg.subarray(4);
      send(0x1, a, false); send(0x9, Buffer.from('p1'), true);
      send(0x0, b, false); send(0x9, Buffer.from('p2'), true);
      send(0x0, c, true);
      return;
    }
    send(msgOp, msg, true);
  }
}

server.listen(0, '127.0.0.1', () => {
  process.stdout.write('listening ' + server.address().port + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
