import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Prometheus metrics, one registry per app instance (tests build many apps in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_process_' });
  const requests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const signIns = new Counter({
    name: 'gatehouse_sign_ins_total',
    help: 'Password sign-ins by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'gatehouse_auth_failures_total',
    help: 'Requests refused for authentication, by code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const outboxDeliveries = new Counter({
    name: 'gatehouse_outbox_deliveries_total',
    help: 'Outbox delivery attempts by channel and result',
    labelNames: ['channel', 'result'] as const,
    registers: [registry],
  });
  return { registry, requests, duration, signIns, authFailures, outboxDeliveries };
}

export type Metrics = ReturnType<typeof createMetrics>;
