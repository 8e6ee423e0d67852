// One GraphQL subscription over the service's WebSocket (`graphql-transport-ws`, the protocol
// of /graphql), signed in with the browser's session. It reconnects after a dropped connection
// (1 s, doubling to 30 s) and stops for good when the service refuses the session (4403) or the
// page stops it. Nothing is replayed across a reconnection: `onState('live')` tells the page to
// read what it may have missed.

import { hasSession } from './api.js';

/**
 * subscribe(query, { onData(data), onState('connecting' | 'live' | 'refused' | 'closed') })
 * returns `stop()`.
 */
export function subscribe(query, { onData, onState = () => {} }) {
  let socket = null;
  let stopped = false;
  let delay = 1000;
  let timer = null;

  const open = () => {
    if (stopped || !hasSession()) return;
    onState('connecting');
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(`${scheme}//${window.location.host}/graphql`, 'graphql-transport-ws');
    socket.addEventListener('open', () => {
      // The session cookie went with the upgrade; the service signs the socket in with it.
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    });
    socket.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === 'connection_ack') {
        delay = 1000;
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
        onState('live');
      } else if (message.type === 'next' && message.payload?.data) {
        onData(message.payload.data);
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      }
    });
    socket.addEventListener('close', (event) => {
      socket = null;
      if (stopped) return;
      if (event.code === 4403) {
        onState('refused');
        return;
      }
      onState('closed');
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    });
  };

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close(1000);
  };
}
