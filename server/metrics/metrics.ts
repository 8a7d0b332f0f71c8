// Prometheus instruments (prom-client), on a registry of their own so that several embedded
// servers in one process do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  readonly sessions = new Gauge({ name: 'tegami_sessions', help: 'Open sessions', labelNames: ['protocol'], registers: [this.registry] });
  readonly admitted = new Counter({ name: 'tegami_admitted_total', help: 'Admissions granted', labelNames: ['point', 'protocol'], registers: [this.registry] });
  readonly shed = new Counter({
    name: 'tegami_shed_total', help: 'Work refused with a temporary code', labelNames: ['point', 'protocol', 'reason'], registers: [this.registry],
  });
  readonly acceptPauses = new Counter({
    name: 'tegami_accept_pauses_total', help: 'Times the listeners stopped accepting because refusals exceeded their CPU budget', registers: [this.registry],
  });
  readonly acceptPausedSeconds = new Counter({ name: 'tegami_accept_paused_seconds_total', help: 'Time spent not accepting', registers: [this.registry] });
  readonly sojourn = new Histogram({
    name: 'tegami_queue_sojourn_seconds', help: 'Time heavy commands waited for a turn', buckets: LATENCY_BUCKETS, registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'tegami_queue_depth', help: 'Heavy commands waiting', registers: [this.registry] });
  readonly acceptWait = new Gauge({
    name: 'tegami_accept_wait_seconds', help: 'How long the last accept-queue probe waited in the kernel before it was accepted (probed only when busy or near overload)',
    labelNames: ['port'] as const, registers: [this.registry],
  });
  readonly eventLoopDelay = new Gauge({ name: 'tegami_event_loop_delay_seconds', help: 'Event-loop delay p99 over the last sample', registers: [this.registry] });
  readonly command = new Histogram({
    name: 'tegami_command_seconds', help: 'Heavy command latency, queueing included', labelNames: ['protocol', 'command'], buckets: LATENCY_BUCKETS, registers: [this.registry],
  });
  readonly sessionStart = new Histogram({
    name: 'tegami_session_start_seconds', help: 'Accept to logged in: what the governor watches as session-start latency', buckets: LATENCY_BUCKETS, registers: [this.registry],
  });
  readonly auth = new Histogram({
    name: 'tegami_auth_seconds', help: 'Password check latency', labelNames: ['result'], buckets: LATENCY_BUCKETS, registers: [this.registry],
  });
  readonly storeOp = new Histogram({
    name: 'tegami_store_op_seconds', help: 'Store operation latency', labelNames: ['op'], buckets: LATENCY_BUCKETS, registers: [this.registry],
  });
  readonly reclaimBacklog = new Gauge({ name: 'tegami_reclaim_backlog_bodies', help: 'Deleted message bodies waiting to be reclaimed', registers: [this.registry] });
  readonly reclaimBacklogBytes = new Gauge({ name: 'tegami_reclaim_backlog_bytes', help: 'Bytes waiting to be reclaimed', registers: [this.registry] });
  readonly reclaimBacklogAccounts = new Gauge({ name: 'tegami_reclaim_backlog_accounts', help: 'Accounts with deletions waiting to be reclaimed', registers: [this.registry] });
  readonly reclaimedBodies = new Gauge({ name: 'tegami_reclaimed_bodies', help: 'Message bodies reclaimed since start (rate() = reclaimer throughput)', registers: [this.registry] });
  readonly reclaimedBytes = new Gauge({ name: 'tegami_reclaimed_bytes', help: 'Bytes reclaimed since start', registers: [this.registry] });
  // several nodes on one store (README "Running several nodes")
  readonly nodeReloads = new Gauge({ name: 'tegami_node_reloads', help: 'Accounts reloaded since start because another node changed them', registers: [this.registry] });
  readonly nodeConflicts = new Gauge({ name: 'tegami_node_conflicts', help: 'Commit rounds refused since start because another node wrote first (then retried)', registers: [this.registry] });
  readonly nodeReclaiming = new Gauge({ name: 'tegami_node_reclaiming', help: '1 on the node that runs the reclaimer', registers: [this.registry] });
  readonly reclaimOldest = new Gauge({ name: 'tegami_reclaim_oldest_seconds', help: 'Age of the oldest item waiting to be reclaimed', registers: [this.registry] });
  readonly storeState = new Gauge({
    name: 'tegami_store_state', help: 'Store state: 1 for the current one of ok, failed, recovering', labelNames: ['state'], registers: [this.registry],
  });
  readonly freeBytes = new Gauge({ name: 'tegami_data_free_bytes', help: 'Free space of the data directory, bytes (as last sampled)', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tegami_process_' });
  }
}
