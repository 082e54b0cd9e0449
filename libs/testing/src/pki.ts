import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A test PKI in `dir`, made with openssl: `ca.pem`/`ca.key` (CN `caName`), `server.pem`/`server.key`
 * for 127.0.0.1, a client certificate `<name>.pem`/`<name>.key` per entry of `clients`, and, when
 * `impostorCn` is given, a self-signed `impostor.pem`/`impostor.key` with that CN (no CA signed it).
 */
export function makeTestPki(
  dir: string,
  opts: { readonly caName: string; readonly clients: readonly { name: string; cn: string }[]; readonly impostorCn?: string },
): void {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${opts.caName}`);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  const certs = [{ name: 'server', cn: '127.0.0.1', ext: 'server.ext' }, ...opts.clients.map((c) => ({ ...c, ext: 'client.ext' }))];
  for (const { name, cn, ext } of certs) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', ext);
  }
  if (opts.impostorCn !== undefined) {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'impostor.key', '-out', 'impostor.pem', '-days', '2', '-subj', `/CN=${opts.impostorCn}`);
  }
}
