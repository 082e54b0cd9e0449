export * from './documents';
export * from './secrets';
export type { Schema, SchemaRule, SchemaFinding } from './schema';
export { CRD_KINDS, RESERVED_NAMES, ROOT_RULES, SPEC_SCHEMAS, type ApiRootSpec, type CollectionSpec, type PrincipalSpec } from './crd-types.generated';
