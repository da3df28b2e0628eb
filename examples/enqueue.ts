// Enqueue a job from a plain script (neither hub nor worker): tsx examples/enqueue.ts <owner_user_id> [steps]
import { createProducer, loadConfig } from '../src/index.js';

const [ownerId = NaN, steps = 5] = process.argv.slice(2).map(Number);
const producer = await createProducer(loadConfig());
try {
  const job = await producer.enqueueJob({ name: 'demo.steps', data: { steps, step_ms: 200 }, ownerId });
  process.stdout.write(`${JSON.stringify(job)}\n`);
} finally {
  await producer.close();
}
