/**
 * Control characters in log text. Log values are only ever rendered as text
 * (React escapes them; nothing goes through innerHTML), but terminal escape
 * codes and invisible characters would still garble or disguise a line. The
 * decision (docs/ui.md): the results list removes ANSI escape sequences (a
 * coloured line reads as its plain text) and shows every other control
 * character as a visible symbol; the expanded record shows everything, each
 * escape and control character as a visible symbol (ESC is ␛), so what was
 * sent can be read exactly. Bidirectional overrides, which can make text
 * read differently from what it is, are shown as ⟦U+202E⟧ in both.
 */

/** CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), and two-character ESC sequences. */
const ANSI_SEQUENCE = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]|\u009b[0-?]*[ -/]*[@-~]/g;

/** C0 and C1 controls except tab and line feed, and DEL. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The visible stand-in for a control character: the Unicode control pictures (␀ … ␟, ␡), else its code. */
export function controlPicture(c: string): string {
  const code = c.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code);
  if (code === 0x7f) return '\u2421';
  return `⟦U+${code.toString(16).toUpperCase().padStart(4, '0')}⟧`;
}

function showBidi(text: string): string {
  return text.replace(BIDI, (c) => `⟦U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟧`);
}

export function stripAnsi(text: string): string {
  return text.replace(ANSI_SEQUENCE, '');
}

/** One line for the results list: escape sequences removed, line breaks as ↵, tabs as spaces, other controls visible. */
export function displayLine(text: string): string {
  return showBidi(
    stripAnsi(text)
      .replace(/\r?\n/g, ' ↵ ')
      .replace(/\t/g, '  ')
      .replace(CONTROL, controlPicture),
  );
}

/** Full text for the expanded record: line breaks and tabs kept, every other control visible (ESC is ␛). */
export function displayExact(text: string): string {
  return showBidi(text.replace(CONTROL, controlPicture));
}
