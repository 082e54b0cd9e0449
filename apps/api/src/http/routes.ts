/** TAXII 2.1 route templates and their methods: used to answer 405 (with Allow) instead of 404. */
const ROUTES: readonly { readonly re: RegExp; readonly methods: readonly string[] }[] = [
  { re: /^\/taxii2\/?$/, methods: ['GET'] },
  { re: /^\/[^/]+\/?$/, methods: ['GET'] },
  { re: /^\/[^/]+\/status\/[^/]+\/?$/, methods: ['GET'] },
  { re: /^\/[^/]+\/collections\/?$/, methods: ['GET'] },
  { re: /^\/[^/]+\/collections\/[^/]+\/?$/, methods: ['GET'] },
  { re: /^\/[^/]+\/collections\/[^/]+\/manifest\/?$/, methods: ['GET'] },
  { re: /^\/[^/]+\/collections\/[^/]+\/objects\/?$/, methods: ['GET', 'POST'] },
  { re: /^\/[^/]+\/collections\/[^/]+\/objects\/[^/]+\/?$/, methods: ['GET', 'DELETE'] },
  { re: /^\/[^/]+\/collections\/[^/]+\/objects\/[^/]+\/versions\/?$/, methods: ['GET'] },
];

export function allowedMethods(url: string): readonly string[] | undefined {
  const path = url.split('?')[0] ?? url;
  return ROUTES.find((r) => r.re.test(path))?.methods;
}
