import { startServer } from 'tegami';
import { expect, test } from 'vitest';

test('the sign-up mail reaches the user', async () => {
  const server = await startServer({ users: { alice: 'secret' } }); // in memory, free ports
  try {
    // your application would send through SMTP at 127.0.0.1:server.ports.smtp; here we deliver directly
    await server.deliver('alice', 'From: app@example.com\r\nSubject: Welcome\r\n\r\nHi Alice!\r\n');
    const [mail] = await server.messages('alice');
    expect(mail?.subject).toBe('Welcome');
    expect(server.ports.imap).toBeGreaterThan(0); // point any IMAP/POP3 client at these ports
  } finally {
    await server.close();
  }
});
