// Plain Node, CommonJS (Jest and older tools load packages with require()).
const { startServer, UnknownUserError } = require('tegami');
const { parseChaos } = require('tegami/chaos');

(async () => {
  const server = await startServer({ users: { alice: 'secret' }, chaos: parseChaos('read-latency=0') });
  await server.deliver('alice', 'From: app@example.com\nSubject: from require\n\nhello\n');
  const [mail] = await server.messages('alice');
  await server.close();
  console.log(JSON.stringify({ subject: mail && mail.subject, errors: typeof UnknownUserError === 'function' }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
