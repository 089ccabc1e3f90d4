/**
 * GeoIP from a MaxMind-format (.mmdb) database read from a local file with
 * mmdb-lib: no network at any time. The default database ships inside the
 * npm package @ip-location-db/geo-whois-asn-country-mmdb (country level,
 * from the RIRs' WHOIS data and geofeeds, CC BY 4.0 by the NRO); any
 * GeoIP2/GeoLite2 City or Country file can be configured instead, and both
 * record layouts are read.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { Reader, type Response } from 'mmdb-lib';
import type { Attrs } from '../../record/record.ts';

export const DEFAULT_GEOIP_PACKAGE = '@ip-location-db/geo-whois-asn-country-mmdb';

export function defaultGeoipDatabase(): string {
  return createRequire(import.meta.url).resolve(`${DEFAULT_GEOIP_PACKAGE}/geo-whois-asn-country.mmdb`);
}

/** What a GeoIP2 City/Country record or an ip-location-db record may hold (the parts used here). */
interface MmdbRecord {
  country_code?: string;
  country?: { iso_code?: string; names?: Record<string, string> };
  city?: { names?: Record<string, string> };
  location?: { latitude?: number; longitude?: number };
  autonomous_system_number?: number;
  autonomous_system_organization?: string;
}

const MAX_CACHE = 10_000;

export class GeoIp {
  private readonly reader: Reader<Response>;
  private readonly cache = new Map<string, Attrs | null>();
  readonly database: string;

  constructor(file: string) {
    this.database = file;
    this.reader = new Reader<Response>(readFileSync(file));
  }

  /** {country, country_name?, city?, lat?, lon?, asn?, as_org?} for a public address; null otherwise. */
  lookup(ip: string): Attrs | null {
    const cached = this.cache.get(ip);
    if (cached !== undefined) return cached;
    let out: Attrs | null = null;
    if (isIP(ip) !== 0) {
      // The layouts differ by database; MmdbRecord names the fields read from any of them.
      const rec = this.reader.get(ip) as MmdbRecord | null;
      if (rec) {
        out = {};
        const country = rec.country_code ?? rec.country?.iso_code;
        if (country) out.country = country;
        const countryName = rec.country?.names?.en;
        if (countryName) out.country_name = countryName;
        const city = rec.city?.names?.en;
        if (city) out.city = city;
        if (typeof rec.location?.latitude === 'number' && typeof rec.location.longitude === 'number') {
          out.lat = rec.location.latitude;
          out.lon = rec.location.longitude;
        }
        if (rec.autonomous_system_number !== undefined) out.asn = rec.autonomous_system_number;
        if (rec.autonomous_system_organization) out.as_org = rec.autonomous_system_organization;
        if (Object.keys(out).length === 0) out = null;
      }
    }
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
    this.cache.set(ip, out);
    return out;
  }
}
