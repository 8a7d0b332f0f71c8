// The names a test author imports, from each entry point (checked by tsc, never run).
import { startServer, StoreUnavailableError, UnknownUserError, type ChaosSettings, type MailStore, type ServerOptions, type TegamiServer } from 'tegami';
import { openStore, MessageGoneError, type MailboxSnapshot } from 'tegami/storage';
import { parseChaos, type ChaosSettings as ChaosSettings2 } from 'tegami/chaos';

const options: ServerOptions = { users: { alice: 'secret' }, logLevel: 'silent', chaos: { readFailRate: 0.5 } };
const chaos: Partial<ChaosSettings> & Partial<ChaosSettings2> = parseChaos('read-fail=0.1');

export async function check(): Promise<void> {
  const server: TegamiServer = await startServer({ ...options, chaos });
  const store: MailStore = server.store;
  const snap: MailboxSnapshot = await store.snapshot('alice', 'INBOX');
  const errors: Error[] = [new StoreUnavailableError('busy'), new UnknownUserError('bob'), new MessageGoneError('gone')];
  const memory = await openStore({ memory: true });
  await memory.close();
  await server.close();
  void snap;
  void errors;
}
