import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** What the realtime layer records; created once per app, so tests can build several apps. */
export interface HubMetrics {
  registry: Registry;
  messagesStored: Counter;
  messagesBroadcast: Counter;
  /** Time from a socket event's arrival to its ack, by event and outcome (ok or error code). */
  ackLatency: Histogram<'event' | 'outcome'>;
  /** Job status changes, by state, from BullMQ's event stream (every pod sees all of them). */
  jobEvents: Counter<'state'>;
  /** Presence changes this pod announced (each change is announced by exactly one pod: sum them). */
  presenceChanges: Counter<'online'>;
  /** What the slow-consumer guard did (src/realtime/slow-consumer.ts), by action. */
  slowConsumer: Counter<'action'>;
}

export function createHubMetrics(pod: string): HubMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ pod });
  // Default process metrics include nodejs_eventloop_lag_seconds and its percentiles.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    messagesStored: new Counter({ name: 'inbox_messages_stored_total', help: 'message events acknowledged as stored (a retried client_msg_id is acknowledged, and counted, again)', registers }),
    messagesBroadcast: new Counter({ name: 'inbox_messages_broadcast_total', help: 'Chat messages broadcast to their room', registers }),
    ackLatency: new Histogram({
      name: 'inbox_socket_ack_seconds',
      help: 'Socket event handling time until the acknowledgement',
      labelNames: ['event', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    presenceChanges: new Counter({
      name: 'inbox_presence_changes_total',
      help: 'Presence changes this pod announced to the peers (one pod announces each: sum over pods)',
      labelNames: ['online'],
      registers,
    }),
    jobEvents: new Counter({
      name: 'inbox_job_events_total',
      help: 'Job status changes by state, from BullMQ events (every pod counts all jobs: use max, not sum)',
      labelNames: ['state'],
      registers,
    }),
    slowConsumer: new Counter({
      name: 'inbox_slow_consumer_total',
      help: 'Slow-consumer guard: connections that went slow (slow), events dropped, held, coalesced, resyncs sent, legacy connections closed',
      labelNames: ['action'],
      registers,
    }),
  };
}
