// Child process of crash-recovery.test.ts: appends to a durable backend's store as fast as it can and
// prints "acked <uid>" for each append that resolved, until it is killed with SIGKILL.
//   node --import tsx test/storage/crash-writer.ts <backend name> <data dir>
import { backends } from './backends.ts';

const [name, dir] = process.argv.slice(2);
const store = await backends.find((b) => b.name === name)!.make(dir).open();
await store.ensureUser('alice');
process.stdout.write('ready\n');
const writer = async (w: number) => {
  for (let i = 0; ; i++) {
    const { uid } = await store.append('alice', 'INBOX', Buffer.from(`Subject: w${w}-${i}\r\n\r\nbody\r\n`));
    process.stdout.write(`acked ${uid}\n`);
  }
};
await Promise.all([0, 1, 2, 3].map(writer));
