// smtp-server waits a fixed 100 ms before its 220 greeting (to catch clients that talk too soon) and
// then asks DNS for the client's reverse name: ≈ 105 ms per connection before a test's first mail can
// even start. An embedded server greets at once. smtp-server has no option for the wait, so each
// new connection's init() is replaced, just before it runs, by the same steps without the timer.
// Relies on smtp-server 3's SMTPConnection internals (_setListeners, connectionReady); the
// test/embedding greeting test fails if they change.
import type { SMTPServer } from 'smtp-server';

interface ConnectionInternals {
  init(): void;
  _setListeners(next: () => void): void;
  connectionReady(): void;
}

export function greetInstantly(server: SMTPServer): void {
  const connections = (server as unknown as { connections: Set<ConnectionInternals> }).connections;
  const add = connections.add.bind(connections);
  connections.add = (connection) => {
    connection.init = () => connection._setListeners(() => connection.connectionReady());
    return add(connection);
  };
}
