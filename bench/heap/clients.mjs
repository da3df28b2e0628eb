// Child of bench/heap.ts: opens N /inbox sockets with one cookie, says "ready" when every one
// has its `ready`, and closes them all when told.
import { io } from 'socket.io-client';

const [url, cookie, n] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const sockets = [];
let ready = 0;
for (let i = 0; i < n; i++) {
  const s = io(`${url}/inbox`, { extraHeaders: { cookie }, transports: ['websocket'], forceNew: true, reconnection: false });
  s.on('ready', () => {
    if (++ready === n) process.send('ready');
  });
  s.on('connect_error', (e) => console.error('connect_error', e.message));
  sockets.push(s);
  // Paced, so the hub's handshakes do not pile up past the client's connect timeout.
  if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
}
process.on('message', () => {
  for (const s of sockets) s.close();
  process.exit(0);
});
