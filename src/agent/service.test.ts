/**
 * `cairn agent install|uninstall --dry-run`: what would be written and run,
 * for systemd and for Windows (sc.exe with the WinSW wrapper). Running them
 * for real needs systemd as PID 1 or Windows: verified by review only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { AGENT_NODE_FLAGS, install, systemdUnit, uninstall, winswXml } from './service.ts';

test('cairn agent run by hand gets the same V8 flags as the service units', () => {
  const bin = readFileSync(resolve(import.meta.dirname, '..', '..', 'bin', 'cairn.js'), 'utf8');
  assert.ok(bin.includes(`agent: [${AGENT_NODE_FLAGS.map((f) => `'${f}'`).join(', ')}]`), 'bin/cairn.js TUNED_FLAGS.agent must equal AGENT_NODE_FLAGS');
  const unit = readFileSync(resolve(import.meta.dirname, '..', '..', 'deploy', 'systemd', 'cairn-agent.service'), 'utf8');
  assert.ok(unit.includes(AGENT_NODE_FLAGS.join(' ')), 'the shipped systemd unit must use AGENT_NODE_FLAGS');
});

function captured(fn: () => number): { code: number; out: string } {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(' '));
  try {
    return { code: fn(), out: lines.join('\n') };
  } finally {
    console.log = log;
  }
}

test('systemd: the unit runs this Node and cairn.js with the config; install enables it, uninstall disables and removes it', () => {
  const unit = systemdUnit('/etc/cairn/agent.yaml');
  const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!;
  assert.equal(exec, `${process.execPath} --max-semi-space-size=1 --max-old-space-size=64 --optimize-for-size ${resolve(import.meta.dirname, '..', '..', 'bin', 'cairn.js')} agent --config /etc/cairn/agent.yaml`);
  assert.match(unit, /^StateDirectory=cairn-agent$/m);
  assert.match(unit, /^Restart=always$/m);
  assert.match(unit, /^WantedBy=multi-user.target$/m);
  const inst = captured(() => install({ config: '/etc/cairn/agent.yaml', dryRun: true, platform: 'linux' }));
  assert.equal(inst.code, 0);
  assert.match(inst.out, /would write \/etc\/systemd\/system\/cairn-agent.service/);
  assert.match(inst.out, /would run: systemctl daemon-reload\nwould run: systemctl enable --now cairn-agent.service/);
  const un = captured(() => uninstall({ dryRun: true, platform: 'linux' }));
  assert.match(un.out, /would run: systemctl disable --now cairn-agent.service\nwould remove \/etc\/systemd\/system\/cairn-agent.service\nwould run: systemctl daemon-reload/);
});

test('Windows: WinSW runs node with cairn.js; sc.exe creates the service with the wrapper as binPath', () => {
  const xml = winswXml('C:\\ProgramData\\Cairn\\agent\\agent.yaml');
  assert.match(xml, /<id>CairnAgent<\/id>/);
  assert.match(xml, new RegExp(`<executable>${process.execPath.replace(/[\\/.]/g, '\\$&')}</executable>`));
  assert.match(xml, /<arguments>&quot;--max-semi-space-size=1&quot; &quot;--max-old-space-size=64&quot; &quot;--optimize-for-size&quot; &quot;.*cairn\.js&quot; &quot;agent&quot; &quot;--config&quot; &quot;.*agent\.yaml&quot;<\/arguments>/);
  assert.match(xml, /<onfailure action="restart"/);
  const inst = captured(() => install({ config: 'C:\\ProgramData\\Cairn\\agent\\agent.yaml', dryRun: true, platform: 'win32', windowsDir: 'C:\\ProgramData\\Cairn\\agent' }));
  assert.equal(inst.code, 0);
  assert.match(inst.out, /would copy .*winsw\.exe to C:\\ProgramData\\Cairn\\agent\/cairn-agent\.exe|would copy .*winsw\.exe to .*cairn-agent\.exe/);
  assert.match(inst.out, /would run: sc\.exe create CairnAgent binPath= .*cairn-agent\.exe.* start= auto DisplayName= "Cairn agent"/);
  assert.match(inst.out, /would run: sc\.exe failure CairnAgent reset= 86400 actions= restart\/5000\/restart\/5000\/restart\/30000/);
  assert.match(inst.out, /would run: sc\.exe start CairnAgent/);
  const un = captured(() => uninstall({ dryRun: true, platform: 'win32', windowsDir: 'C:\\ProgramData\\Cairn\\agent' }));
  assert.match(un.out, /would run: sc\.exe stop CairnAgent\nwould run: sc\.exe delete CairnAgent/);
});
