import { describe, expect, it } from 'vitest';
import { RouteTable } from './routes';

function table(): RouteTable {
  const t = new RouteTable();
  t.add(['GET', 'HEAD'], '/taxii2/');
  t.add(['GET', 'HEAD'], '/:apiRoot/');
  t.add(['GET', 'HEAD'], '/:apiRoot/collections/:collectionId/objects/');
  t.add('POST', '/:apiRoot/collections/:collectionId/objects/');
  t.add('DELETE', '/:apiRoot/collections/:collectionId/objects/:objectId/');
  t.add(['GET', 'HEAD'], '/:apiRoot/collections/:collectionId/objects/:objectId/');
  t.add(['GET', 'HEAD'], '/healthz');
  t.add('OPTIONS', '/taxii1/*');
  return t;
}

describe('RouteTable', () => {
  it('names the methods registered at a path, in Allow order, without the implied HEAD', () => {
    expect(table().allowedMethods('/root/collections/c1/objects/')).toEqual(['GET', 'POST']);
    expect(table().allowedMethods('/root/collections/c1/objects/indicator--1/')).toEqual(['GET', 'DELETE']);
  });

  it('matches with or without the trailing slash and ignores the query', () => {
    expect(table().allowedMethods('/taxii2')).toEqual(['GET']);
    expect(table().allowedMethods('/root/collections/c1/objects?limit=1')).toEqual(['GET', 'POST']);
  });

  it('unites the methods of every pattern matching the path', () => {
    const t = table();
    t.add('POST', '/healthz');
    expect(t.allowedMethods('/healthz')).toEqual(['GET', 'POST']);
  });

  it('answers undefined for a path no route matches, so it stays 404', () => {
    expect(table().allowedMethods('/root/collections/c1/nowhere/')).toBeUndefined();
    expect(table().allowedMethods('/a/b')).toBeUndefined();
  });

  it('lets a wildcard match any rest of the path', () => {
    expect(table().allowedMethods('/taxii1/root/poll')).toEqual(['OPTIONS']);
  });

  it('treats pattern text literally, not as a regular expression', () => {
    const t = new RouteTable();
    t.add('GET', '/a.b');
    expect(t.allowedMethods('/a.b')).toEqual(['GET']);
    expect(t.allowedMethods('/axb')).toBeUndefined();
  });
});
