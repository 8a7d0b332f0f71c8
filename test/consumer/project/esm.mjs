// Plain Node, ESM: import the package, start, deliver, read, close.
import { startServer, UnknownUserError } from 'tegami';
import { StoreUnavailableError } from 'tegami/storage';

const server = await startServer({ users: { alice: 'secret' } });
await server.deliver('alice', 'From: app@example.com\nSubject: from ESM\n\nhello\n');
const [mail] = await server.messages('alice');
await server.close();
console.log(JSON.stringify({ subject: mail?.subject, errors: typeof UnknownUserError === 'function' && typeof StoreUnavailableError === 'function' }));
