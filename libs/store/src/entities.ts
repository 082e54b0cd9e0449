import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * TypeORM entities describing the schema (migrations own the DDL). The catalogue is read through
 * them; the object read/write paths use hand-written SQL (object-store.ts) because they are hot.
 */
@Entity({ name: 'api_roots' })
export class ApiRootEntity {
  @PrimaryGeneratedColumn({ name: 'pk' }) pk!: number;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) path!: string;
  @Column({ type: 'text' }) title!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ name: 'max_content_length', type: 'bigint' }) maxContentLength!: number;
  @Column({ name: 'deletion_policy', type: 'text' }) deletionPolicy!: 'Retain' | 'Delete';
  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true }) retiredAt!: Date | null;
}

@Entity({ name: 'collections' })
export class CollectionEntity {
  @PrimaryGeneratedColumn({ name: 'pk' }) pk!: number;
  @Column({ type: 'uuid' }) id!: string;
  @Column({ name: 'api_root_pk', type: 'integer' }) apiRootPk!: number;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text', nullable: true }) alias!: string | null;
  @Column({ type: 'text' }) title!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ name: 'media_types', type: 'text', array: true }) mediaTypes!: string[];
  @Column({ name: 'deletion_policy', type: 'text' }) deletionPolicy!: 'Retain' | 'Delete';
  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true }) retiredAt!: Date | null;
}

@Entity({ name: 'principals' })
export class PrincipalEntity {
  @PrimaryGeneratedColumn({ name: 'pk' }) pk!: number;
  @Column({ type: 'text' }) name!: string;
  @Column({ name: 'display_name', type: 'text', nullable: true }) displayName!: string | null;
  @Column({ name: 'password_hash', type: 'text', nullable: true }) passwordHash!: string | null;
  @Column({ type: 'boolean' }) disabled!: boolean;
  @Column({ name: 'rate_limit_per_second', type: 'double precision', nullable: true }) rateLimitPerSecond!: number | null;
  @Column({ name: 'rate_limit_burst', type: 'integer', nullable: true }) rateLimitBurst!: number | null;
}

@Entity({ name: 'api_root_grants' })
export class ApiRootGrantEntity {
  @PrimaryColumn({ name: 'api_root_pk', type: 'integer' }) apiRootPk!: number;
  @PrimaryColumn({ name: 'principal_pk', type: 'integer' }) principalPk!: number;
  @Column({ type: 'text' }) role!: 'read' | 'write' | 'admin';
}

@Entity({ name: 'collection_grants' })
export class CollectionGrantEntity {
  @PrimaryColumn({ name: 'collection_pk', type: 'integer' }) collectionPk!: number;
  @PrimaryColumn({ name: 'principal_pk', type: 'integer' }) principalPk!: number;
  @Column({ name: 'can_read', type: 'boolean', nullable: true }) canRead!: boolean | null;
  @Column({ name: 'can_write', type: 'boolean', nullable: true }) canWrite!: boolean | null;
}

export const ENTITIES = [ApiRootEntity, CollectionEntity, PrincipalEntity, ApiRootGrantEntity, CollectionGrantEntity];
