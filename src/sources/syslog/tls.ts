/**
 * TLS client certificate → tenant. The certificate was verified against
 * sources.syslog.tls_ca during the handshake; its names are looked up in
 * client_cert_tenants: subjectAltName entries first (DNS, email, URI, IP, in
 * the certificate's order), then the subject CN. The first name found decides.
 */
import type { PeerCertificate } from 'node:tls';

/** The names a certificate is known by, in lookup order. */
export function certificateNames(cert: Pick<PeerCertificate, 'subject' | 'subjectaltname'>): string[] {
  const names: string[] = [];
  if (cert.subjectaltname) {
    // "DNS:a.example, IP Address:10.0.0.1, email:x@y"; values with special characters are JSON-quoted.
    const entry = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
    for (const m of cert.subjectaltname.matchAll(entry)) {
      const raw = m[2]!;
      let value = raw;
      if (raw.startsWith('"')) {
        try {
          value = JSON.parse(raw) as string;
        } catch {
          continue;
        }
      }
      if (value) names.push(value);
    }
  }
  const cn = cert.subject?.CN as string | string[] | undefined;
  for (const name of Array.isArray(cn) ? cn : cn ? [cn] : []) names.push(name);
  return names;
}

/** The tenant a verified certificate maps to, or undefined. */
export function tenantForCertificate(cert: Pick<PeerCertificate, 'subject' | 'subjectaltname'>, map: Readonly<Record<string, string>>): string | undefined {
  for (const name of certificateNames(cert)) {
    if (Object.hasOwn(map, name)) return map[name];
  }
  return undefined;
}
