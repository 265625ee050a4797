/** The generator's ceiling: a uWebSockets.js server that reads the body and answers 200, in a process of its own. */
import { uws } from '../../../src/server/uws.ts';

const app = uws.App().post('/*', (res) => {
  res.onAborted(() => undefined);
  res.onData((_chunk, last) => {
    if (last) res.cork(() => res.end(''));
  });
});
app.listen('127.0.0.1', 0, (socket) => {
  if (!socket) throw new Error('trivial server could not listen');
  console.log(`READY ${uws.us_socket_local_port(socket)}`);
});
