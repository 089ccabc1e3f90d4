/**
 * `cairn agent install|uninstall`: the agent as a system service.
 *
 * - Linux: the unit deploy/systemd/cairn-agent.service with ExecStart set to
 *   this installation (its Node and bin/cairn.js) and the config file, in
 *   /etc/systemd/system/, then `systemctl daemon-reload` and
 *   `systemctl enable --now`.
 * - Windows: node.exe cannot answer the Service Control Manager itself, so
 *   the service runs WinSW (the service wrapper shipped in the node-windows
 *   package, installed on Windows only): WinSW is copied to
 *   `<data_dir>\cairn-agent.exe` with its `cairn-agent.xml` (what to run),
 *   and `sc.exe create CairnAgent binPath= "<data_dir>\cairn-agent.exe"`
 *   registers it. Verified by review only (no Windows here): docs/agent.md.
 *
 * --dry-run prints the files and commands and changes nothing (that is what
 * the tests check on Linux).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const UNIT_NAME = 'cairn-agent.service';
const UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}`;
const WINDOWS_SERVICE = 'CairnAgent';

interface Options {
  config?: string;
  dryRun: boolean;
  platform?: NodeJS.Platform;
  /** Where the program files are (Windows: ProgramData\Cairn\agent). */
  windowsDir?: string;
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\$`])/g, '\\$1')}"`;
}

/**
 * V8 settings for the agent process: a small young generation and a capped
 * old space keep its memory near its working set (it allocates briefly-lived
 * lines and buffers at a high rate; V8's defaults let them pile up to
 * hundreds of MB before collecting). bench/agent.ts measures the effect.
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=64', '--optimize-for-size'];

/** The agent's command line: this Node with AGENT_NODE_FLAGS, this cairn.js, `agent --config FILE`. */
function commandLine(config: string): string[] {
  return [process.execPath, ...AGENT_NODE_FLAGS, join(ROOT, 'bin', 'cairn.js'), 'agent', '--config', resolve(config)];
}

export function systemdUnit(config: string): string {
  const template = readFileSync(join(ROOT, 'deploy', 'systemd', UNIT_NAME), 'utf8');
  return template.replace(/^ExecStart=.*$/m, `ExecStart=${commandLine(config).map(quoteArg).join(' ')}`);
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** WinSW's service file: what the wrapper runs, how it restarts, where its own logs go. */
export function winswXml(config: string): string {
  const [node, ...args] = commandLine(config);
  return `<service>
  <id>${WINDOWS_SERVICE}</id>
  <name>Cairn agent</name>
  <description>Ships Windows event logs, files and .evtx exports to a Cairn server.</description>
  <executable>${xmlEscape(node!)}</executable>
  <arguments>${args.map((a) => xmlEscape(`"${a}"`)).join(' ')}</arguments>
  <stoptimeout>30sec</stoptimeout>
  <onfailure action="restart" delay="5 sec"/>
  <logmode>rotate</logmode>
</service>
`;
}

function run(command: string, args: string[], dryRun: boolean): boolean {
  console.log(`${dryRun ? 'would run' : 'running'}: ${[command, ...args].map(quoteArg).join(' ')}`);
  if (dryRun) return true;
  const r = spawnSync(command, args, { stdio: 'inherit' });
  if (r.error) console.error(`${command}: ${r.error.message}`);
  return r.status === 0;
}

function windowsDir(opts: Options): string {
  return opts.windowsDir ?? join(process.env.ProgramData ?? 'C:\\ProgramData', 'Cairn', 'agent');
}

export function install(opts: Options): number {
  const platform = opts.platform ?? process.platform;
  const config = opts.config ?? (platform === 'win32' ? join(windowsDir(opts), 'agent.yaml') : '/etc/cairn/agent.yaml');
  if (!opts.dryRun && !existsSync(config)) {
    console.error(`cairn agent install: ${config} does not exist; write the agent config first (docs/agent.md), or name it with --config`);
    return 1;
  }
  if (platform === 'linux') {
    const unit = systemdUnit(config);
    console.log(`${opts.dryRun ? 'would write' : 'writing'} ${UNIT_PATH}:\n${unit}`);
    if (!opts.dryRun) writeFileSync(UNIT_PATH, unit, { mode: 0o644 });
    const ok = run('systemctl', ['daemon-reload'], opts.dryRun) && run('systemctl', ['enable', '--now', UNIT_NAME], opts.dryRun);
    return ok ? 0 : 1;
  }
  if (platform === 'win32') {
    const dir = windowsDir(opts);
    const exe = join(dir, 'cairn-agent.exe');
    let winsw = '<node-windows>/bin/winsw/winsw.exe';
    try {
      winsw = join(dirname(createRequire(import.meta.url).resolve('node-windows/package.json')), 'bin', 'winsw', 'winsw.exe');
    } catch {
      if (!opts.dryRun) {
        console.error('cairn agent install: the service wrapper (npm package node-windows, installed on Windows with Cairn) is missing; run "npm install" again');
        return 1;
      }
    }
    const xml = winswXml(config);
    console.log(`${opts.dryRun ? 'would copy' : 'copying'} ${winsw} to ${exe}`);
    console.log(`${opts.dryRun ? 'would write' : 'writing'} ${join(dir, 'cairn-agent.xml')}:\n${xml}`);
    if (!opts.dryRun) {
      mkdirSync(dir, { recursive: true });
      copyFileSync(winsw, exe);
      writeFileSync(join(dir, 'cairn-agent.xml'), xml);
    }
    const ok =
      run('sc.exe', ['create', WINDOWS_SERVICE, 'binPath=', exe, 'start=', 'auto', 'DisplayName=', 'Cairn agent'], opts.dryRun) &&
      run('sc.exe', ['description', WINDOWS_SERVICE, 'Ships Windows event logs, files and .evtx exports to a Cairn server.'], opts.dryRun) &&
      run('sc.exe', ['failure', WINDOWS_SERVICE, 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/30000'], opts.dryRun) &&
      run('sc.exe', ['start', WINDOWS_SERVICE], opts.dryRun);
    return ok ? 0 : 1;
  }
  console.error(`cairn agent install: no service manager support for ${platform}; run "cairn agent --config FILE" under your init system`);
  return 1;
}

export function uninstall(opts: Options): number {
  const platform = opts.platform ?? process.platform;
  if (platform === 'linux') {
    const ok = run('systemctl', ['disable', '--now', UNIT_NAME], opts.dryRun);
    console.log(`${opts.dryRun ? 'would remove' : 'removing'} ${UNIT_PATH}`);
    if (!opts.dryRun) rmSync(UNIT_PATH, { force: true });
    return run('systemctl', ['daemon-reload'], opts.dryRun) && ok ? 0 : 1;
  }
  if (platform === 'win32') {
    run('sc.exe', ['stop', WINDOWS_SERVICE], opts.dryRun);
    const ok = run('sc.exe', ['delete', WINDOWS_SERVICE], opts.dryRun);
    const dir = windowsDir(opts);
    console.log(`${opts.dryRun ? 'would remove' : 'removing'} ${join(dir, 'cairn-agent.exe')} and ${join(dir, 'cairn-agent.xml')} (the buffer and config stay)`);
    if (!opts.dryRun) for (const f of ['cairn-agent.exe', 'cairn-agent.xml']) rmSync(join(dir, f), { force: true });
    return ok ? 0 : 1;
  }
  console.error(`cairn agent uninstall: no service manager support for ${platform}`);
  return 1;
}
