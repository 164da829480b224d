/**
 * A small XML well-formedness check for the SVGs (no dependency): tags nest and close, attributes
 * are quoted and unique, entities are known, nothing but whitespace, comments and a prolog lies
 * outside the root element. Returns the elements found, so tests can query them.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  /** Text directly inside, entities decoded. */
  text: string;
  children: XmlElement[];
}

const NAME = /^[A-Za-z_:][\w.:-]*/;
const ENTITY = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function decode(s: string, where: number): string {
  const bad = s.replace(ENTITY, '').indexOf('&');
  if (bad >= 0) throw new Error(`XML: a bare & or unknown entity near offset ${where}`);
  return s.replace(ENTITY, (_, e: string) =>
    e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'"
      : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)));
}

export function parseXml(src: string): XmlElement {
  let i = 0;
  const root: XmlElement = { name: '#document', attrs: {}, text: '', children: [] };
  const stack: XmlElement[] = [root];
  let seenRoot = false;
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? src.length : lt;
    const text = src.slice(i, textEnd);
    if (stack.length === 1 && text.trim()) throw new Error(`XML: text outside the root element at ${i}`);
    stack[stack.length - 1]!.text += decode(text, i);
    if (lt < 0) break;
    i = lt;
    if (src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i);
      if (end < 0) throw new Error('XML: unterminated comment');
      i = end + 3;
    } else if (src.startsWith('<?', i)) {
      const end = src.indexOf('?>', i);
      if (end < 0) throw new Error('XML: unterminated processing instruction');
      i = end + 2;
    } else if (src.startsWith('<!DOCTYPE', i)) {
      const end = src.indexOf('>', i);
      i = end + 1;
    } else if (src.startsWith('<![CDATA[', i)) {
      const end = src.indexOf(']]>', i);
      if (end < 0) throw new Error('XML: unterminated CDATA');
      stack[stack.length - 1]!.text += src.slice(i + 9, end);
      i = end + 3;
    } else if (src.startsWith('</', i)) {
      const m = NAME.exec(src.slice(i + 2));
      const end = src.indexOf('>', i);
      if (!m || end < 0) throw new Error(`XML: bad closing tag at ${i}`);
      const open = stack.pop()!;
      if (open.name !== m[0]) throw new Error(`XML: </${m[0]}> closes <${open.name}> at ${i}`);
      i = end + 1;
    } else {
      const m = NAME.exec(src.slice(i + 1));
      if (!m) throw new Error(`XML: bad tag at ${i}`);
      if (stack.length === 1) {
        if (seenRoot) throw new Error('XML: more than one root element');
        seenRoot = true;
      }
      const el: XmlElement = { name: m[0], attrs: {}, text: '', children: [] };
      i += 1 + m[0].length;
      for (;;) {
        const ws = /^\s*/.exec(src.slice(i))![0].length;
        i += ws;
        if (src.startsWith('/>', i) || src.startsWith('>', i)) break;
        if (ws === 0) throw new Error(`XML: attributes must be separated by whitespace at ${i}`);
        const a = /^([A-Za-z_:][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(src.slice(i));
        if (!a) throw new Error(`XML: bad attribute in <${el.name}> at ${i}: ${src.slice(i, i + 40)}`);
        if (a[1]! in el.attrs) throw new Error(`XML: duplicate attribute ${a[1]} in <${el.name}>`);
        el.attrs[a[1]!] = decode(a[3] ?? a[4] ?? '', i);
        i += a[0].length;
      }
      stack[stack.length - 1]!.children.push(el);
      if (src.startsWith('/>', i)) {
        i += 2;
      } else {
        i += 1;
        stack.push(el);
      }
    }
  }
  if (stack.length !== 1) throw new Error(`XML: <${stack[stack.length - 1]!.name}> is never closed`);
  if (!seenRoot) throw new Error('XML: no root element');
  return root.children[0]!;
}

/** Every element below `el` (depth first) that matches. */
export function findAll(el: XmlElement, pred: (e: XmlElement) => boolean): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (pred(e)) out.push(e);
    e.children.forEach(walk);
  };
  walk(el);
  return out;
}

/** All text under an element. */
export function allText(el: XmlElement): string {
  return el.text + el.children.map(allText).join('');
}
