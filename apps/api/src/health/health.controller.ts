import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { READINESS } from '../tokens';

export interface Readiness {
  check(): Promise<Record<string, boolean>>;
  draining: boolean;
  /** Set once the server listens: a shutdown before that (a failed start) has no load balancer to wait for. */
  serving: boolean;
}

@Controller()
export class HealthController {
  constructor(@Inject(READINESS) private readonly readiness: Readiness) {}

  /** Liveness: the process is up and serving HTTP. */
  @Get('healthz')
  healthz(@Res() reply: FastifyReply): void {
    void reply.code(200).header('content-type', 'application/json').send('{"status":"ok"}');
  }

  /** Readiness: database reachable, migrations at head, routing table loaded, not shutting down. */
  @Get('readyz')
  async readyz(@Res() reply: FastifyReply): Promise<void> {
    const checks = await this.readiness.check();
    const ok = Object.values(checks).every(Boolean);
    void reply
      .code(ok ? 200 : 503)
      .header('content-type', 'application/json')
      .send(JSON.stringify({ status: ok ? 'ready' : 'not ready', checks }));
  }
}
