import type { AddRequest, JoinedPage, ObjectFilter, ObjectStore, Page, PageRequest, StatusResource } from '@taxiway/domain';
import type { ApiMetrics } from '@taxiway/metrics';

/** The object store, timed per operation (taxiway_db_operation_duration_seconds). */
export class MeteredObjectStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly m: ApiMetrics,
  ) {}

  private async timed<T>(operation: string, work: () => Promise<T>): Promise<T> {
    const end = this.m.dbOperationDuration.startTimer({ operation });
    try {
      return await work();
    } finally {
      end();
    }
  }

  addObjects(req: AddRequest): Promise<StatusResource> {
    return this.timed('add_objects', () => this.inner.addObjects(req));
  }
  page(req: PageRequest): Promise<Page> {
    return this.timed('page', () => this.inner.page(req));
  }
  pageJson(req: PageRequest): Promise<JoinedPage> {
    return this.timed('page_json', () => this.inner.pageJson(req));
  }
  objectExists(collectionPk: number, objectId: string): Promise<boolean> {
    return this.timed('object_exists', () => this.inner.objectExists(collectionPk, objectId));
  }
  deleteObject(collectionPk: number, objectId: string, filter: ObjectFilter): Promise<number> {
    return this.timed('delete_object', () => this.inner.deleteObject(collectionPk, objectId, filter));
  }
  getStatus(apiRootPk: number, statusId: string): ReturnType<ObjectStore['getStatus']> {
    return this.timed('get_status', () => this.inner.getStatus(apiRootPk, statusId));
  }
  purgeStatuses(olderThanUs: number): Promise<number> {
    return this.timed('purge_statuses', () => this.inner.purgeStatuses(olderThanUs));
  }
}
