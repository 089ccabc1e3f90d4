/** Every built-in component registers itself on import; this is the one list of them. */
import './store/duckdb/index.ts';
import './queue/memory/index.ts';
import './sources/http/index.ts';
import './sources/grpc/index.ts';
import './sources/otlp/index.ts';
import './sources/agent/index.ts';
import './sources/syslog/index.ts';
import './pipeline/templates/index.ts';
import './sources/forward/index.ts';
import './sources/loki/index.ts';
import './sources/elastic/index.ts';
import './sources/journald/index.ts';
import './pipeline/parse/index.ts';
import './pipeline/redact/index.ts';
import './pipeline/enrich/index.ts';
import './pipeline/filter/index.ts';
