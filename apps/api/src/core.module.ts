import { Global, Module, type DynamicModule } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Config } from '@taxiway/config';
import type { StartupResources } from './lifecycle';
import { CONFIG, FASTIFY, LOGGER, SERVER_OPTIONS, STARTUP } from './tokens';
import type { ServerOptions } from './server';

/** The typed configuration, the server options, the start-up resources, and the Fastify instance and logger, for every module. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: Config, options: ServerOptions, startup: StartupResources): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: SERVER_OPTIONS, useValue: options },
        { provide: STARTUP, useValue: startup },
        { provide: FASTIFY, inject: [HttpAdapterHost], useFactory: (host: HttpAdapterHost) => host.httpAdapter.getInstance<FastifyInstance>() },
        { provide: LOGGER, inject: [FASTIFY], useFactory: (fastify: FastifyInstance) => fastify.log },
      ],
      exports: [CONFIG, SERVER_OPTIONS, STARTUP, FASTIFY, LOGGER],
    };
  }
}
