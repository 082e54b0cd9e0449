/** Nest injection tokens for the composition root's plain objects. */
export const CONFIG = Symbol('CONFIG');
export const TAXII_SERVICE = Symbol('TAXII_SERVICE');
export const CATALOG = Symbol('CATALOG');
export const READINESS = Symbol('READINESS');
