import { test } from 'node:test';
import assert from 'node:assert/strict';
import { powershellNewest, powershellQuery, powershellScript, recordIdXPath, wevtutilNewest, wevtutilQuery } from './commands.ts';

test('wevtutil query from a bookmark: inclusive record id filter, oldest first, rendered, wrapped, UTF-16', () => {
  assert.deepEqual(wevtutilQuery({ channel: 'System', fromRecordId: 1004n, max: 501, rendered: true }), {
    command: 'wevtutil.exe',
    args: ['qe', 'System', '/q:*[System[EventRecordID>=1004]]', '/c:501', '/rd:false', '/f:RenderedXml', '/e:Events', '/uni:true'],
    encoding: 'utf-16le',
  });
  assert.deepEqual(wevtutilQuery({ channel: 'Microsoft-Windows-Sysmon/Operational', max: 100, rendered: false }).args, [
    'qe',
    'Microsoft-Windows-Sysmon/Operational',
    '/q:*',
    '/c:100',
    '/rd:false',
    '/f:xml',
    '/e:Events',
    '/uni:true',
  ]);
  assert.deepEqual(wevtutilNewest('Security').args, ['qe', 'Security', '/c:1', '/rd:true', '/f:xml', '/e:Events', '/uni:true']);
  assert.equal(recordIdXPath(18_446_744_073_709_551_615n), '*[System[EventRecordID>=18446744073709551615]]');
});

test('PowerShell: Get-WinEvent from the bookmark, ToXml plus the rendered message, as an encoded command', () => {
  const script = powershellScript({ channel: "Bob's App", fromRecordId: 42n, max: 10, rendered: true });
  assert.match(script, /Get-WinEvent -LogName 'Bob''s App' -FilterXPath '\*\[System\[EventRecordID>=42\]\]' -MaxEvents 10 -Oldest/);
  assert.match(script, /NoMatchingEventsFound/);
  assert.match(script, /\$e\.ToXml\(\)/);
  assert.match(script, /FormatDescription\(\)/);
  assert.match(script, /<RenderingInfo Culture=.*<Message>' \+ \[Security\.SecurityElement\]::Escape\(\$message\)/);
  assert.match(script, /^'<Events>'$/m);
  assert.match(script, /^'<\/Events>'$/m);
  assert.doesNotMatch(powershellScript({ channel: 'System', max: 5, rendered: false }), /FormatDescription/);
  const cmd = powershellQuery({ channel: 'Application', fromRecordId: 1n, max: 5, rendered: true });
  assert.equal(cmd.command, 'powershell.exe');
  assert.deepEqual(cmd.args.slice(0, 5), ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand']);
  assert.equal(Buffer.from(cmd.args[5]!, 'base64').toString('utf16le'), powershellScript({ channel: 'Application', fromRecordId: 1n, max: 5, rendered: true }));
  assert.equal(cmd.encoding, 'utf-8');
  assert.match(Buffer.from(powershellNewest('System').args[5]!, 'base64').toString('utf16le'), /Get-WinEvent -LogName 'System' -MaxEvents 1\)/);
});

test('channel names that could break the command line are refused', () => {
  for (const bad of ['', '  ', 'Sys"tem', 'a\nb', 'x\0']) {
    assert.throws(() => wevtutilQuery({ channel: bad, max: 1, rendered: false }), /invalid Windows event channel name/);
    assert.throws(() => powershellQuery({ channel: bad, max: 1, rendered: false }), /invalid Windows event channel name/);
  }
});
