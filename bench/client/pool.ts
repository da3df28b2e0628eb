import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AgentEnvelope, AgentReply, AgentRequest } from './protocol.js';

const AGENT = fileURLToPath(new URL('./agent.ts', import.meta.url));

/** One forked client process and a typed request/reply channel to it. */
export class Agent {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextId = 1;
  private readonly gone: Promise<void>;

  constructor(readonly index: number) {
    this.child = fork(AGENT, [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      env: { ...process.env, BENCH_AGENT_ID: `a${index}` },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (reply: AgentReply) => {
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      if (reply.ok) w.resolve(reply.result);
      else w.reject(new Error(`agent ${index}: ${reply.error}`));
    });
    this.gone = new Promise((resolve) => this.child.once('exit', () => resolve()));
    void this.gone.then(() => {
      for (const w of this.waiting.values()) w.reject(new Error(`agent ${index} exited`));
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends a request; rejects after `timeoutMs` so no step can hang the run. */
  call<T>(request: AgentRequest, timeoutMs: number): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`agent ${this.index}: ${request.type} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ id, request } satisfies AgentEnvelope);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.gone;
    clearTimeout(timer);
  }
}

export class AgentPool {
  readonly agents: Agent[];

  constructor(size: number) {
    this.agents = Array.from({ length: size }, (_, i) => new Agent(i));
  }

  /** The same kind of request to every agent (each built from its index), all replies in order. */
  all<T>(build: (agent: Agent) => AgentRequest | null, timeoutMs: number): Promise<T[]> {
    return Promise.all(
      this.agents.map((a) => {
        const req = build(a);
        return req ? a.call<T>(req, timeoutMs) : Promise.resolve(null as T);
      }),
    );
  }

  /** Resolves once every agent has loaded, so start-up never counts as connect time. */
  async ready(): Promise<this> {
    await this.all(() => ({ type: 'ping' }), 60_000);
    return this;
  }

  close(): Promise<void> {
    return Promise.all(this.agents.map((a) => a.close())).then(() => undefined);
  }
}
