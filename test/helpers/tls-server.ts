// An in-process server with TLS (a fresh self-signed certificate) and alice:secret, for the TLS
// tests. They test TLS, not shedding: on a loaded shared machine the governor could turn their
// connections away at the door ("* BYE [UNAVAILABLE]"), so it never sheds here.
import { startServer, type ServerOptions, type TegamiServer } from '../../server/server.ts';

export function startTlsServer(opts: ServerOptions = {}): Promise<TegamiServer> {
  return startServer({ users: { alice: 'secret' }, tls: true, governor: false, ...opts });
}
