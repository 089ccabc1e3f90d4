/**
 * The command lines the Windows Event Log collector runs, as pure functions.
 * Both ways print `<Events>` around the events' XML, oldest first, starting
 * at a record id (inclusive: the bookmarked record comes back first, which is
 * how the collector notices a cleared log; see bookmark.ts).
 *
 * - wevtutil: `/f:RenderedXml` adds `<RenderingInfo>` with the message the
 *   provider's message table renders; `/uni:true` makes the output UTF-16
 *   so non-ASCII text survives the console code page.
 * - PowerShell: Get-WinEvent, `ToXml()` per event, the message from
 *   FormatDescription() added as the same `<RenderingInfo><Message>`.
 */

export interface CommandLine {
  command: string;
  args: string[];
  /** How stdout is encoded. */
  encoding: 'utf-16le' | 'utf-8';
}

export interface EventQuery {
  channel: string;
  /** First record id to return (inclusive); undefined: from the oldest record. */
  fromRecordId?: bigint;
  /** At most this many events. */
  max: number;
  /** Include the rendered message. */
  rendered: boolean;
}

/** Channel names are free text in Windows; refuse the few characters that could break out of the command line. */
function checkChannelName(channel: string): void {
  if (channel.trim() === '' || /["\r\n\0]/.test(channel)) throw new Error(`invalid Windows event channel name ${JSON.stringify(channel)}`);
}

/** XPath selecting events from a record id on. */
export function recordIdXPath(fromRecordId: bigint | undefined): string {
  return fromRecordId === undefined ? '*' : `*[System[EventRecordID>=${fromRecordId}]]`;
}

export function wevtutilQuery(q: EventQuery): CommandLine {
  checkChannelName(q.channel);
  return {
    command: 'wevtutil.exe',
    args: ['qe', q.channel, `/q:${recordIdXPath(q.fromRecordId)}`, `/c:${q.max}`, '/rd:false', `/f:${q.rendered ? 'RenderedXml' : 'xml'}`, '/e:Events', '/uni:true'],
    encoding: 'utf-16le',
  };
}

/** The newest event of a channel (to start reading at the end). */
export function wevtutilNewest(channel: string): CommandLine {
  checkChannelName(channel);
  return { command: 'wevtutil.exe', args: ['qe', channel, '/c:1', '/rd:true', '/f:xml', '/e:Events', '/uni:true'], encoding: 'utf-16le' };
}

function psQuote(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** The PowerShell script for a query (exported for the docs and tests). */
export function powershellScript(q: EventQuery, newest = false): string {
  checkChannelName(q.channel);
  const filter = newest
    ? `-LogName ${psQuote(q.channel)} -MaxEvents 1`
    : `-LogName ${psQuote(q.channel)} -FilterXPath ${psQuote(recordIdXPath(q.fromRecordId))} -MaxEvents ${q.max} -Oldest`;
  return [
    "$ErrorActionPreference = 'Stop'",
    '[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false',
    `try { $events = @(Get-WinEvent ${filter}) } catch { if ($_.FullyQualifiedErrorId -notmatch 'NoMatchingEventsFound') { throw }; $events = @() }`,
    "'<Events>'",
    'foreach ($e in $events) {',
    '  $xml = $e.ToXml()',
    q.rendered
      ? "  $message = $null; try { $message = $e.FormatDescription() } catch { }\n" +
        "  if ($message) { $xml = $xml -replace '</Event>$', ('<RenderingInfo Culture=\"' + [Globalization.CultureInfo]::CurrentCulture.Name + '\"><Message>' + [Security.SecurityElement]::Escape($message) + '</Message></RenderingInfo></Event>') }"
      : '',
    '  $xml',
    '}',
    "'</Events>'",
  ]
    .filter((line) => line !== '')
    .join('\n');
}

function powershell(script: string): CommandLine {
  return {
    command: 'powershell.exe',
    args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', Buffer.from(script, 'utf16le').toString('base64')],
    encoding: 'utf-8',
  };
}

export function powershellQuery(q: EventQuery): CommandLine {
  return powershell(powershellScript(q));
}

export function powershellNewest(channel: string): CommandLine {
  return powershell(powershellScript({ channel, max: 1, rendered: false }, true));
}
