// An application's test suite checks its own "wrong password" handling against the embedded server:
// those logins must not be slowed (up to 5 s each) or refused after 30, as `tegami serve` does for
// password guessing from the network.
import { startServer } from 'tegami';
import { expect, it } from 'vitest';
import { LineClient } from '../helpers/line-client.ts';

it('answers 40 wrong passwords in a row with -ERR [AUTH] at once, then lets the right one in', async () => {
  await using server = await startServer({ users: { alice: 'secret' } });
  const login = async (password: string) => {
    // A connection per attempt: a session is closed after three failures of its own.
    const c = await LineClient.connect(server.ports.pop3);
    await c.line();
    await c.command('USER alice');
    const answer = await c.command(`PASS ${password}`);
    c.close();
    return answer;
  };
  const t0 = performance.now();
  for (let i = 0; i < 40; i++) expect(await login('wrong')).toMatch(/^-ERR \[AUTH\]/);
  // The guarded server would have paused 250 ms doubling to 5 s per failure, then refused: minutes.
  expect(performance.now() - t0).toBeLessThan(20_000);
  expect(await login('secret')).toMatch(/^\+OK/);
});
