/** Test certificates made with the openssl CLI: a CA, a server certificate for 127.0.0.1/localhost, and client certificates. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertFiles {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and a server certificate (CN=localhost, SAN DNS:localhost, IP:127.0.0.1) in `dir`. */
export function makeCertificates(dir: string): CertFiles {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Cairn Test CA', '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
  const files: CertFiles = {
    dir,
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
  };
  issue(files, 'server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  return files;
}

/** A certificate signed by `ca` with the given subject and extension line; the PEM paths of it and its key. */
export function issue(ca: CertFiles, name: string, subject: string, extension?: string): { cert: string; key: string } {
  const { dir } = ca;
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
  const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', ca.caCert, '-CAkey', ca.caKey, '-CAcreateserial', '-days', '2', '-out', `${name}.pem`];
  if (extension) {
    writeFileSync(join(dir, `${name}.ext`), `${extension}\n`);
    args.push('-extfile', `${name}.ext`);
  }
  openssl(args, dir);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}
