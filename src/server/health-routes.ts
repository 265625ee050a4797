import { json, type RouteSpec } from '../core/http.ts';
import type { Hub } from '../runtime/hub.ts';

/** /healthz (process alive), /readyz (Redis and every connector up), /metrics (Prometheus). */
export function healthRoutes(hub: Hub): RouteSpec[] {
  return [
    { method: 'GET', path: '/healthz', maxBodyBytes: 0, handler: async () => json(200, { status: 'ok' }) },
    {
      method: 'GET',
      path: '/readyz',
      maxBodyBytes: 0,
      handler: async () => {
        const r = hub.readiness();
        return json(r.ready ? 200 : 503, r);
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      maxBodyBytes: 0,
      handler: async () => {
        await hub.collectMetrics();
        return {
          status: 200,
          headers: { 'content-type': hub.metrics.registry.contentType },
          body: await hub.metrics.registry.metrics(),
        };
      },
    },
  ];
}
