// WhatsApp's text formatting for the simulator's bubbles: *bold*, _italic_, ~strikethrough~ and ```monospace```, nested as
// WhatsApp nests them. The text is never parsed as HTML: it is cut into text nodes and <strong>/<em>/<s>/<code> elements built
// with textContent, so whatever the text holds ("<img onerror=…>") is shown as written, never run.
window.whatsappFormat = (() => {
  // A marker opens after the start, a space or punctuation and before a non-space; it closes after a non-space and before the
  // end, a space or punctuation; the text between stays on one line. "2*3*4" and "snake_case_name" stay as typed.
  const around = (marker) => new RegExp(`(?<=^|[\\s\\p{P}])${marker}(?=\\S)([^\\n]*?\\S)${marker}(?=$|[\\s\\p{P}])`, 'u');
  const STYLES = [
    { pattern: /```([\s\S]+?)```/, tag: 'code', nested: false },
    { pattern: around('\\*'), tag: 'strong', nested: true },
    { pattern: around('_'), tag: 'em', nested: true },
    { pattern: around('~'), tag: 's', nested: true },
  ];

  /** The earliest styled span in the text, and its style; the first style listed wins a tie. */
  function firstSpan(text) {
    let first = null;
    for (const style of STYLES) {
      const match = style.pattern.exec(text);
      if (match && (!first || match.index < first.match.index)) first = { style, match };
    }
    return first;
  }

  /** The text as nodes to append: text nodes and formatting elements, nothing parsed as markup. */
  function format(text) {
    const nodes = [];
    let rest = String(text ?? '');
    for (let span = firstSpan(rest); span; span = firstSpan(rest)) {
      const { style, match } = span;
      if (match.index > 0) nodes.push(document.createTextNode(rest.slice(0, match.index)));
      const element = document.createElement(style.tag);
      if (style.nested) element.append(...format(match[1]));
      else element.textContent = match[1];
      nodes.push(element);
      rest = rest.slice(match.index + match[0].length);
    }
    if (rest) nodes.push(document.createTextNode(rest));
    return nodes;
  }

  return format;
})();
