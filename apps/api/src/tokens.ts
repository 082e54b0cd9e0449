/** Nest injection tokens of the providers the capability modules build (each module's file says what it provides). */
export const CONFIG = Symbol('CONFIG');
/** The createTaxiwayServer options (desired state given in code, logger). */
export const SERVER_OPTIONS = Symbol('SERVER_OPTIONS');
/** Fastify's pino logger (the one every component logs through). */
export const LOGGER = Symbol('LOGGER');
/** The Fastify instance under Nest, for the modules that install hooks and routes on it. */
export const FASTIFY = Symbol('FASTIFY');
/** StartupResources: handles opened by factories, closed by the facade if start-up fails. */
export const STARTUP = Symbol('STARTUP');

export const DATABASE = Symbol('DATABASE');
export const CATALOG_STORE = Symbol('CATALOG_STORE');
export const OBJECT_STORE = Symbol('OBJECT_STORE');
export const TAXII1_STORE = Symbol('TAXII1_STORE');
export const AUDIT_LOG = Symbol('AUDIT_LOG');

export const API_METRICS = Symbol('API_METRICS');
export const SHARING_METER = Symbol('SHARING_METER');

export const CATALOG = Symbol('CATALOG');
export const AUTHENTICATOR = Symbol('AUTHENTICATOR');
/** Marks the access pipeline's Fastify hooks as installed; providers that must come after them inject it. */
export const ACCESS_HOOKS = Symbol('ACCESS_HOOKS');
export const TAXII1_SERVICE = Symbol('TAXII1_SERVICE');
export const TAXII_SERVICE = Symbol('TAXII_SERVICE');
export const INGEST_POOL = Symbol('INGEST_POOL');
export const READINESS = Symbol('READINESS');
export const PUSH_WORKER = Symbol('PUSH_WORKER');
