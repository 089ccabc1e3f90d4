/**
 * Streaming reader for the event XML that `wevtutil qe ... /f:xml|RenderedXml`
 * and PowerShell's `$_.ToXml()` print: `<Event>` elements one after another,
 * bare or inside one wrapper element (`/e:Events`). Text is fed as it arrives
 * from the child process; each completed `<Event>` comes out as an XML tree.
 *
 * Design note: state is one partial event (a stack of open elements); memory
 * is bounded by `maxEventChars` of text per event, since a runaway event would
 * otherwise grow without limit. Malformed XML throws WindowsXmlError carrying
 * the events completed before the damage.
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import type { XmlElement } from './event.ts';

export class WindowsXmlError extends Error {
  /** Events completed in the same write before the damage. */
  readonly events: XmlElement[];
  constructor(message: string, events: XmlElement[] = []) {
    super(message);
    this.name = 'WindowsXmlError';
    this.events = events;
  }
}

export class EventXmlReader {
  private readonly parser = new SaxesParser<{ fragment: true; xmlns: false }>({ fragment: true, xmlns: false });
  private readonly maxEventChars: number;
  private stack: XmlElement[] = [];
  private done: XmlElement[] = [];
  private eventChars = 0;
  private error: Error | undefined;

  constructor(maxEventChars = 4 * 1024 * 1024) {
    this.maxEventChars = maxEventChars;
    this.parser.on('opentag', (tag: SaxesTagPlain) => this.open(tag));
    this.parser.on('closetag', () => this.close());
    this.parser.on('text', (text: string) => this.text(text));
    this.parser.on('cdata', (cdata: string) => this.stack.at(-1)?.children.push({ cdata }));
    this.parser.on('processinginstruction', (pi: { target: string; body: string }) => this.stack.at(-1)?.children.push({ target: pi.target, data: pi.body }));
    this.parser.on('error', (err: Error) => {
      this.error ??= err;
    });
  }

  private open(tag: SaxesTagPlain): void {
    if (this.stack.length === 0 && tag.name !== 'Event') return; // a wrapper such as <Events>
    const el: XmlElement = { name: tag.name, attrs: Object.entries(tag.attributes).map(([name, value]) => ({ name, value })), children: [] };
    this.stack.at(-1)?.children.push(el);
    this.stack.push(el);
  }

  private close(): void {
    const el = this.stack.pop();
    if (el && this.stack.length === 0) {
      this.done.push(el);
      this.eventChars = 0;
    }
  }

  private text(text: string): void {
    const parent = this.stack.at(-1);
    if (!parent) return; // whitespace between events
    this.eventChars += text.length;
    if (this.eventChars > this.maxEventChars) {
      this.error ??= new Error(`an event's text is longer than ${this.maxEventChars} characters (the limit)`);
      return;
    }
    const last = parent.children.length - 1;
    if (last >= 0 && typeof parent.children[last] === 'string') parent.children[last] += text;
    else parent.children.push(text);
  }

  /** Feeds text; returns the events it completed. */
  write(text: string): XmlElement[] {
    if (this.error) throw new WindowsXmlError(`event XML is malformed: ${this.error.message}`);
    this.parser.write(text);
    const out = this.done;
    this.done = [];
    const error = this.failure();
    if (error) throw new WindowsXmlError(`event XML is malformed: ${error.message}`, out);
    return out;
  }

  /** The first error the parser reported (set from its callbacks, hence not narrowed by TypeScript). */
  private failure(): Error | undefined {
    return this.error;
  }

  /** Ends the input; throws when it stopped inside an event. */
  end(): XmlElement[] {
    if (this.stack.length > 0) throw new WindowsXmlError('the output ended inside an <Event>');
    if (!this.error) this.parser.close();
    const out = this.done;
    this.done = [];
    const error = this.failure();
    if (error) throw new WindowsXmlError(`event XML is malformed: ${error.message}`);
    return out;
  }
}

/** All events of a complete text (tests, captured output). */
export function parseEventXml(text: string): XmlElement[] {
  const reader = new EventXmlReader();
  return [...reader.write(text), ...reader.end()];
}
