/**
 * A consumer group of three members sharing a stream of jobs. Halfway through, one member
 * leaves without a word (its connection cut, as if its process crashed) while holding jobs it
 * never acknowledged; the broker redelivers them to the other two. Nothing is lost; a job may
 * be done twice (at least once). Run: `node dist/examples/consumer-group.js [tcp://host:port]`.
 */
import { BrokerClient, readMessage } from '../broker/client.js';
import { brokerFromArgs } from './connect.js';

const JOBS = 20_000;
const target = await brokerFromArgs();
const done = new Map<number, number>(); // job number → times done
const perMember = [0, 0, 0];
let redelivered = 0;
let crashed = false;

const members = await Promise.all(perMember.map(() => BrokerClient.connect(target.url, { token: target.token })));
let finished: () => void = () => {};
const allDone = new Promise<void>((resolve) => (finished = resolve));
// Joined before publishing: a group starts with the next message published.
await Promise.all(
  members.map((member, m) =>
    member.subscribe('jobs', { group: 'workers' }, (bytes, offset, length, again) => {
      if (m === 2 && crashed) return; // a crashed process does nothing more
      const job = readMessage(bytes, offset, length).sequence;
      done.set(job, (done.get(job) ?? 0) + 1);
      perMember[m]++;
      if (again) redelivered++;
      if (m === 2 && perMember[2] === Math.floor(JOBS / 6)) {
        crashed = true;
        member.destroy();
        console.log(`member 3 left abruptly after ${perMember[2]} jobs`);
      }
      if (done.size === JOBS) finished();
    }),
  ),
);

const client = await BrokerClient.connect(target.url, { token: target.token });
const publisher = await client.openPublisher('jobs');
for (let sent = 0; sent < JOBS; sent += 200) {
  await publisher.send(Array.from({ length: 200 }, () => new Uint8Array(32)));
}
await allDone;
const twice = [...done.values()].filter((n) => n > 1).length;
console.log(`jobs done by member: ${perMember.join(', ')}`);
console.log(`every one of ${JOBS} jobs done: ${done.size === JOBS}; redelivered: ${redelivered}; done twice: ${twice}`);

await Promise.all([client.close(), members[0].close(), members[1].close()]);
await target.stop();
process.exit(done.size === JOBS && crashed ? 0 : 1);
