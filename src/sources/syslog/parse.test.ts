/** Syslog parsers: the RFCs' own examples, real senders' variants, and garbage kept whole. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSyslog } from './parse.ts';

const NOW = BigInt(Date.UTC(2024, 2, 10, 12, 0, 0)) * 1_000_000n; // 2024-03-10T12:00:00Z
const ns = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;
const local = (y: number, mo: number, d: number, h: number, mi: number, s: number) => BigInt(new Date(y, mo, d, h, mi, s).getTime()) * 1_000_000n;

test('RFC 5424 example 1: no structured data, BOM before MSG', () => {
  const m = parseSyslog("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8", NOW);
  assert.equal(m.protocol, 'rfc5424');
  assert.equal(m.pri, 34);
  assert.equal(m.ts, ns('2003-10-11T22:14:15.003Z'));
  assert.equal(m.hostname, 'mymachine.example.com');
  assert.equal(m.appName, 'su');
  assert.equal(m.procId, undefined, 'NILVALUE');
  assert.equal(m.msgId, 'ID47');
  assert.equal(m.structuredData, undefined);
  assert.equal(m.message, "'su root' failed for lonvick on /dev/pts/8", 'the BOM is not part of the message');
  assert.equal(m.parseError, undefined);
});

test('RFC 5424 example 2: microseconds and a negative offset', () => {
  const m = parseSyslog("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.", NOW);
  assert.equal(m.ts, ns('2003-08-24T12:14:15.000Z') + 3_000n);
  assert.equal(m.hostname, '192.0.2.1');
  assert.equal(m.procId, '8710');
  assert.equal(m.msgId, undefined);
  assert.equal(m.message, "%% It's time to make the do-nuts.");
});

test('RFC 5424 examples 3 and 4: structured data, several elements, no MSG', () => {
  const m = parseSyslog(
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] \uFEFFAn application event log entry...',
    NOW,
  );
  assert.deepEqual(m.structuredData, { 'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' } });
  assert.equal(m.message, 'An application event log entry...');
  const m4 = parseSyslog(
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
    NOW,
  );
  assert.deepEqual(m4.structuredData, {
    'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
    'examplePriority@32473': { class: 'high' },
  });
  assert.equal(m4.message, '');
  assert.equal(m4.parseError, undefined);
});

test('RFC 5424 escapes in PARAM-VALUE, repeated params, an invalid escape kept as a backslash', () => {
  const m = parseSyslog(String.raw`<14>1 - - - - - [x@1 a="q\"uote" b="back\\slash" c="br\]acket" d="C:\path" e="1" e="2" f=""] msg`, NOW);
  assert.deepEqual(m.structuredData, { 'x@1': { a: 'q"uote', b: 'back\\slash', c: 'br]acket', d: 'C:\\path', e: ['1', '2'], f: '' } });
  assert.equal(m.message, 'msg');
  assert.equal(m.ts, undefined, 'NILVALUE timestamp → receipt time later');
  assert.equal(m.hostname, undefined);
  assert.equal(m.appName, undefined);
});

test('RFC 5424 timestamps: fractions up to microseconds, offsets, lower-case t/z', () => {
  assert.equal(parseSyslog('<14>1 1985-04-12T23:20:50.52Z h a - - - x', NOW).ts, ns('1985-04-12T23:20:50.520Z'));
  assert.equal(parseSyslog('<14>1 1985-04-12T19:20:50.52-04:00 h a - - - x', NOW).ts, ns('1985-04-12T23:20:50.520Z'));
  assert.equal(parseSyslog('<14>1 2003-10-11t22:14:15.123456z h a - - - x', NOW).ts, ns('2003-10-11T22:14:15.123Z') + 456_000n);
  assert.equal(parseSyslog('<14>1 2003-10-11T22:14:15+05:30 h a - - - x', NOW).ts, ns('2003-10-11T16:44:15Z'));
});

test('RFC 5424 what rsyslog and logger actually send', () => {
  const logger = parseSyslog(
    '<13>1 2024-03-10T11:59:58.123456+00:00 web-1 alice 4242 - [timeQuality tzKnown="1" isSynced="1" syncAccuracy="12500"] hello from logger',
    NOW,
  );
  assert.equal(logger.appName, 'alice');
  assert.equal(logger.procId, '4242');
  assert.deepEqual(logger.structuredData, { timeQuality: { tzKnown: '1', isSynced: '1', syncAccuracy: '12500' } });
  assert.equal(logger.message, 'hello from logger');
  const rsyslog = parseSyslog('<86>1 2024-03-10T11:59:58.000001+01:00 db-2 sshd 77 - - Accepted publickey for root\n', NOW);
  assert.equal(rsyslog.pri, 86);
  assert.equal(rsyslog.message, 'Accepted publickey for root', 'the trailing newline is framing, not message');
  const relayed3164 = parseSyslog('<156>1 2024-03-10T11:59:58+00:00 vm tagx 4242 - -  hello 3164', NOW);
  assert.equal(relayed3164.message, 'hello 3164', "rsyslog's RSYSLOG_SyslogProtocol23Format keeps the space after a 3164 tag's colon in MSG");
});

test('RFC 5424 damage: the line is kept and the reason given', () => {
  const truncated = parseSyslog('<14>1 2024-03-10T11:00:00Z host app', NOW);
  assert.equal(truncated.message, '<14>1 2024-03-10T11:00:00Z host app');
  assert.match(truncated.parseError!, /header ends before PROCID/);
  const badSd = parseSyslog('<14>1 2024-03-10T11:00:00Z host app - - [id a="unterminated] the rest', NOW);
  assert.equal(badSd.hostname, 'host');
  assert.equal(badSd.message, '[id a="unterminated] the rest');
  assert.match(badSd.parseError!, /STRUCTURED-DATA.*not closed/);
  const noSd = parseSyslog('<14>1 2024-03-10T11:00:00Z host app - - message without SD', NOW);
  assert.equal(noSd.message, 'message without SD');
  assert.match(noSd.parseError!, /STRUCTURED-DATA is missing/);
  const badTs = parseSyslog('<14>1 yesterday host app - - - msg', NOW);
  assert.equal(badTs.ts, undefined);
  assert.equal(badTs.message, 'msg');
  assert.match(badTs.parseError!, /invalid TIMESTAMP/);
});

test('RFC 3164 example and the facility/severity in PRI', () => {
  const m = parseSyslog("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", NOW);
  assert.equal(m.protocol, 'rfc3164');
  assert.equal(m.pri, 34);
  assert.equal(m.ts, local(2023, 9, 11, 22, 14, 15), 'October, received in March: last year');
  assert.equal(m.hostname, 'mymachine');
  assert.equal(m.appName, 'su');
  assert.equal(m.message, "'su root' failed for lonvick on /dev/pts/8");
});

test('RFC 3164: TAG[PID], space-padded day, no tag, missing hostname', () => {
  const m = parseSyslog('<38>Mar  9 17:32:18 web-1 sshd[1234]: Accepted password for bob', NOW);
  assert.equal(m.ts, local(2024, 2, 9, 17, 32, 18));
  assert.equal(m.hostname, 'web-1');
  assert.equal(m.appName, 'sshd');
  assert.equal(m.procId, '1234');
  assert.equal(m.message, 'Accepted password for bob');
  const noTag = parseSyslog('<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!', NOW);
  assert.equal(noTag.hostname, '10.0.0.99');
  assert.equal(noTag.appName, undefined);
  assert.equal(noTag.message, 'Use the BFG!');
  const noHost = parseSyslog('<13>Mar 10 11:00:00 CRON[99]: (root) CMD (run-parts /etc/cron.hourly)', NOW);
  assert.equal(noHost.hostname, undefined);
  assert.equal(noHost.appName, 'CRON');
  assert.equal(noHost.procId, '99');
  assert.equal(noHost.message, '(root) CMD (run-parts /etc/cron.hourly)');
  const noHostNoPid = parseSyslog('<13>Mar 10 11:00:00 kernel: [ 12.345] usb 1-1: new device', NOW);
  assert.equal(noHostNoPid.hostname, undefined);
  assert.equal(noHostNoPid.appName, 'kernel');
  assert.equal(noHostNoPid.message, '[ 12.345] usb 1-1: new device');
});

test('RFC 3164: "last message repeated" has no tag', () => {
  const m = parseSyslog('<13>Mar 10 11:00:00 web-1 last message repeated 3 times', NOW);
  assert.equal(m.hostname, 'web-1');
  assert.equal(m.appName, undefined);
  assert.equal(m.message, 'last message repeated 3 times');
});

test('RFC 3164: year-less timestamps take the year closest to receipt', () => {
  const newYear = BigInt(new Date(2025, 0, 1, 0, 0, 30).getTime()) * 1_000_000n;
  assert.equal(parseSyslog('<13>Dec 31 23:59:59 h t: x', newYear).ts, local(2024, 11, 31, 23, 59, 59), 'sent on 31 Dec, received 1 Jan');
  const newYearsEve = BigInt(new Date(2024, 11, 31, 23, 59, 59).getTime()) * 1_000_000n;
  assert.equal(parseSyslog('<13>Jan  1 00:00:01 h t: x', newYearsEve).ts, local(2025, 0, 1, 0, 0, 1), 'sender clock slightly ahead');
  assert.equal(parseSyslog('<13>Feb 29 10:00:00 h t: x', NOW).ts, local(2024, 1, 29, 10, 0, 0), 'leap day');
  const notADate = parseSyslog('<13>Feb 30 10:00:00 h t: x', NOW);
  assert.equal(notADate.ts, undefined, '30 February is not a date');
  assert.equal(notADate.message, 'Feb 30 10:00:00 h t: x');
});

test('RFC 3164 variants: ISO timestamp, year, fraction, Cisco trailing colon', () => {
  const iso = parseSyslog('<30>2024-03-10T10:11:12.123456+02:00 nas-1 smbd[7]: started', NOW);
  assert.equal(iso.ts, ns('2024-03-10T08:11:12.123Z') + 456_000n);
  assert.equal(iso.hostname, 'nas-1');
  assert.equal(iso.appName, 'smbd');
  const year = parseSyslog('<30>Mar 10 2019 10:11:12 sw-1 stp: topology change', NOW);
  assert.equal(year.ts, local(2019, 2, 10, 10, 11, 12));
  assert.equal(year.hostname, 'sw-1');
  const frac = parseSyslog('<189>Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console', NOW);
  assert.equal(frac.ts, local(2024, 2, 1, 18, 46, 11) + 123_000_000n);
  assert.equal(frac.hostname, undefined, 'a token ending in ":" is the tag');
  assert.equal(frac.appName, '%SYS-5-CONFIG_I');
  assert.equal(frac.message, 'Configured from console');
});

test('RFC 3164 without a header: all of it is the message', () => {
  const m = parseSyslog('<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That is All Folks!', NOW);
  assert.equal(m.pri, 0);
  assert.equal(m.ts, undefined);
  assert.equal(m.hostname, undefined);
  assert.equal(m.message, '1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That is All Folks!');
  const local0 = parseSyslog('<134>myapp[3]: plain /dev/log style', NOW);
  assert.equal(local0.appName, 'myapp');
  assert.equal(local0.procId, '3');
  assert.equal(local0.message, 'plain /dev/log style');
  assert.equal(local0.parseError, undefined);
});

test('no PRI: the whole line, user.notice, and a parse error', () => {
  for (const line of ['just text', '<>x', '<192>too big', '<1a>x', '<1234>x', '', '<13', '\u0000\u0001binary']) {
    const m = parseSyslog(line, NOW);
    assert.equal(m.pri, 13, line);
    assert.equal(m.message, line);
    assert.match(m.parseError!, /PRI/);
  }
});

test('random input never throws and always keeps text', () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = '<>[]="\\ -:0123456789TZ.+abcFebMar\uFEFF\n';
  const prefixes = ['<13>1 ', '<165>', '<34>Oct 11 22:14:15 ', '<14>1 2024-03-10T11:00:00Z h a p m [', ''];
  for (let n = 0; n < 20_000; n++) {
    let s = prefixes[n % prefixes.length]!;
    const len = Math.floor(rand() * 80);
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
    const m = parseSyslog(s, NOW);
    assert.ok(m.pri >= 0 && m.pri <= 191);
    assert.equal(typeof m.message, 'string');
  }
});
